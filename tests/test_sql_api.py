"""POST /sql on the real service over a real store: stewards read with a row cap and a time
limit; every write path, ATTACH, COPY, INSTALL/LOAD, settings and file access is refused with a
clear 400, and the store is unchanged afterwards."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest import run_curator, run_json
from stats_store import build
from test_api import _serving


@pytest.fixture(scope="module")
def service(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("sql")
    build(root, shared_data)
    with _serving(root, CURATOR_SQL_TIMEOUT_S="1", CURATOR_SQL_MAX_ROWS="50") as svc:
        yield svc


def _sql(service, sql: str, role: str = "steward", **extra):
    with service.as_role(role) as client:
        return client.post("/sql", json={"sql": sql, **extra})


def test_steward_reads_with_a_row_cap(service):
    response = _sql(service, "SELECT status, count(*) AS n FROM examples GROUP BY status ORDER BY status")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["status", "n"] and not body["truncated"]
    assert {s for s, _ in body["rows"]} == {"approved", "candidate", "rejected"}
    capped = _sql(service, "SELECT id FROM examples ORDER BY id", max_rows=7).json()
    assert capped["row_count"] == 7 and capped["truncated"] and capped["max_rows"] == 7
    assert _sql(service, "SELECT id FROM examples", max_rows=10_000).json()["row_count"] == 50  # server cap
    joined = _sql(service, "WITH v AS (SELECT * FROM dataset_items) SELECT split, count(*) FROM v GROUP BY 1 "
                           "ORDER BY 1").json()
    assert [r[0] for r in joined["rows"]] == ["test", "train", "validation"]


def test_reviewer_may_not_query(service):
    response = _sql(service, "SELECT 1", role="reviewer")
    assert response.status_code == 403 and "steward" in response.json()["detail"]


REFUSED = [
    ("INSERT INTO sources (name) VALUES ('evil')", "INSERT"),
    ("UPDATE examples SET status = 'approved'", "UPDATE"),
    ("DELETE FROM examples", "DELETE"),
    ("DROP TABLE examples", "DROP"),
    ("CREATE TABLE evil AS SELECT 1", "CREATE"),
    ("ALTER TABLE examples ADD COLUMN evil INT", "ALTER"),
    ("TRUNCATE examples", "DELETE"),
    ("ATTACH '{tmp}/evil.duckdb' AS evil", "ATTACH"),
    ("DETACH curator", "DETACH"),
    ("COPY examples TO '{tmp}/evil.csv'", "COPY"),
    ("COPY sources FROM '{tmp}/evil.csv'", "COPY"),
    ("EXPORT DATABASE '{tmp}/evil_export'", "EXPORT"),
    ("INSTALL httpfs", "INSTALL/LOAD"),
    ("LOAD httpfs", "INSTALL/LOAD"),
    ("SET enable_external_access = true", "SET"),
    ("RESET threads", "SET"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("CALL checkpoint()", "CALL"),
    ("CHECKPOINT", "CALL"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    ("SELECT * FROM read_parquet('{tmp}/x.parquet')", "read_parquet()"),
    ("SELECT * FROM read_json_auto('{tmp}/x.json')", "read_json_auto()"),
    ("SELECT * FROM glob('/etc/*')", "glob()"),
    ("SELECT * FROM '/etc/hosts.csv'", "not a table or view of the store"),
    ("SELECT count(*) FROM examples WHERE id IN (SELECT column0 FROM '{tmp}/ids.csv')", "not a table or view"),
    ("SELECT * FROM query('DELETE FROM examples')", "query()"),
    ("SELECT nextval('source_id_seq')", "nextval()"),
    ("SELECT * FROM api_keys", "credential hashes"),
    ("SELECT 1; DELETE FROM examples", "exactly one statement"),
    ("SELECT * FROM other_db.main.examples", "main schema"),
    ("CREATE SECRET evil (TYPE s3, KEY_ID 'x', SECRET 'y')", "CREATE"),
]


@pytest.mark.parametrize("sql,why", REFUSED, ids=[s[:40] for s, _ in REFUSED])
def test_every_write_and_file_path_is_refused(service, tmp_path, sql, why):
    response = _sql(service, sql.format(tmp=tmp_path))
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert why in detail, detail
    assert not list(tmp_path.iterdir()), "nothing may be written outside the store"


def test_nothing_changed_after_the_refusals(service):
    """Runs after the refusals (file order): the store is as it was."""
    counts = _sql(service, "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM examples), "
                           "(SELECT count(*) FROM examples WHERE status = 'approved'), "
                           "(SELECT count(*) FROM duckdb_tables() WHERE table_name = 'evil')").json()["rows"][0]
    with service.as_role("steward") as client:
        report = client.get("/stats/report").json()
    assert counts == [len(report["counts"]["by_source"]), report["funnel"]["candidates"],
                      report["counts"]["by_status"]["approved"], 0]
    assert counts[0] == 2  # bitext and mts-dialog: no 'evil' source was inserted


def test_a_slow_query_is_interrupted_and_the_service_goes_on(service):
    response = _sql(service, "SELECT count(*) FROM range(1000000000) a, range(1000000) b WHERE a.range + b.range < 0")
    assert response.status_code == 408, response.text
    assert "1 s limit" in response.json()["detail"]
    assert _sql(service, "SELECT 42").json()["rows"] == [[42]]


def test_queries_are_audited(service):
    _sql(service, "SELECT 'audited' AS marker")
    _sql(service, "DROP TABLE examples")
    with service.as_role("admin") as admin:
        rows = [r for r in admin.get("/audit", params={"limit": 1000}).json() if r["action"] == "sql.query"]
    seen = {(r["details"]["sql"], r["details"]["outcome"], r["actor"]) for r in rows}
    assert ("SELECT 'audited' AS marker", "ok", "api:steward") in seen
    assert ("DROP TABLE examples", "refused", "api:steward") in seen


def test_cli_sql_uses_the_same_guard(tmp_path, shared_data):
    planted = build(tmp_path, shared_data)
    ok = run_json(["sql", "SELECT count(*) AS n FROM dataset_items", "--max-rows", "3"], planted.env)
    assert ok["columns"] == ["n"] and ok["rows"] == [[600]]
    refused = run_curator(["sql", f"COPY examples TO '{tmp_path}/x.csv'"], planted.env, check=False)
    assert refused.returncode == 1 and "refuses COPY" in refused.stderr and not (tmp_path / "x.csv").exists()
    with duckdb.connect(str(Path(planted.env["CURATOR_DB"])), read_only=True) as conn:  # one operation: audited too
        audited = conn.execute("SELECT actor, details->>'outcome' FROM audit_log WHERE action = 'sql.query' "
                               "ORDER BY id").fetchall()
    assert [outcome for _, outcome in audited] == ["ok", "refused"] and all(a.startswith("cli:") for a, _ in audited)


def test_stats_routes_agree_with_the_report(service):
    with service.as_role("steward") as client:
        report = client.get("/stats/report").json()
        assert client.get("/stats/lengths").json() == report["lengths"]
        assert client.get("/stats/reviews").json() == report["reviews"] | {"rejections": report["rejections"]}
        assert client.get("/stats/versions").json() == report["versions"]
        version = client.get("/stats/report", params={"version": "support@1"}).json()
        assert client.get("/stats/lengths", params={"version": "support@1"}).json() == version["lengths"]
        shorter = client.get("/stats/lengths", params={"max_seq_len": 100}).json()
        unknown = client.get("/stats/report", params={"version": "nope@9"})
        malformed = client.get("/stats/report", params={"version": "nope"})
        zero = client.get("/stats/report", params={"max_seq_len": 0})
    with service.as_role("reviewer") as client:
        refused = client.get("/stats/report")
    assert version["scope"] == "version" and sum(version["counts"]["by_split"].values()) == 600
    assert shorter["max_seq_len"] == 100 and shorter["over_max_seq_len"] > report["lengths"]["over_max_seq_len"]
    assert unknown.status_code == 404 and "no dataset version nope@9" in unknown.json()["detail"]
    assert malformed.status_code == 400 and "NAME@N" in malformed.json()["detail"]
    assert zero.status_code == 422 and refused.status_code == 403


def test_cli_stats_tables_print(tmp_path, shared_data):
    planted = build(tmp_path, shared_data)
    out = run_curator(["stats"], planted.env).stdout
    for title in ("by source", "lengths in characters", "funnel", "rejections", "reviewers", "duplicates removed",
                  "versions", "support@1"):
        assert title in out, title
    version = run_curator(["stats", "--version", "support@1"], planted.env).stdout
    assert "validation" in version and "attributed_cost_usd" in version and "funnel" not in version
