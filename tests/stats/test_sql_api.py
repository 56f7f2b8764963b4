"""POST /sql on the real service over a real store: stewards read with a row cap and a time
limit; every write path, ATTACH, COPY, INSTALL/LOAD, settings and file access is refused with a
clear 400, and the store is unchanged afterwards."""

from __future__ import annotations

from pathlib import Path

import duckdb
import orjson
import pytest

from conftest import run_curator, run_json
from stats_store import build, serving


@pytest.fixture(scope="module")
def service(tmp_path_factory, shared_data):
    with serving(tmp_path_factory.mktemp("sql"), shared_data, CURATOR_SQL_TIMEOUT_S="1", CURATOR_SQL_MAX_ROWS="50",
                 CURATOR_SQL_MAX_BYTES="200000") as svc:
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


def test_answers_are_capped_in_bytes_as_well_as_rows(service):
    """The probe's 200 MB answer: wide rows stop at CURATOR_SQL_MAX_BYTES (200 kB here)."""
    response = _sql(service, "SELECT repeat('a', 30000) AS s FROM examples", max_rows=50)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["truncated"] and 0 < body["row_count"] < 7
    assert len(response.content) < 200_000 + 31_000


def test_answers_stream_and_a_capped_body_ends_valid_and_says_why(service):
    with service.as_role("steward") as client:
        with client.stream("POST", "/sql", json={"sql": "SELECT repeat('a', 30000) AS s FROM examples",
                                                 "max_rows": 50}) as response:
            assert response.status_code == 200
            assert response.headers.get("transfer-encoding") == "chunked" and "content-length" not in response.headers
            body = orjson.loads(response.read())
        rows_capped = client.post("/sql", json={"sql": "SELECT id FROM examples", "max_rows": 3}).json()
    assert body["truncated"] and body["truncated_by"] == "bytes" and body["row_count"] == len(body["rows"]) > 0
    assert all(len(row[0]) == 30000 for row in body["rows"])
    assert rows_capped["truncated_by"] == "rows" and rows_capped["row_count"] == 3


def test_a_query_stopped_mid_stream_ends_its_body_validly(tmp_path):
    """The time limit (or a failure) after rows went out cannot become a 408 any more: the rows
    end, and the fields after them say why (the interrupt is sent by hand between two batches)."""
    from curator import readonly_sql
    from curator.api.routes.sql import _body

    with duckdb.connect(str(tmp_path / "stream.duckdb")) as conn:
        answer = readonly_sql.open_query(conn.cursor(), "SELECT i FROM range(10000000) t(i) WHERE hash(i) % 7 = 0",
                                         10_000_000, 60, max_bytes=10**9, table_functions=frozenset({"range"}))
        pieces = _body(answer, 10_000_000, answer.close)
        first = next(pieces) + next(pieces)
        answer.conn.interrupt()
        body = orjson.loads(first + b"".join(pieces))
    assert body["truncated"] and body["truncated_by"] == "time" and "60 s limit" in body["error"]
    assert body["row_count"] == len(body["rows"]) > 0 and body["max_rows"] == 10_000_000
    assert not answer.close(), "the body closed the answer (its transaction) before its last bytes"


def test_tables_follow_the_role(service):
    """audit_log (every caller's SQL, key names, roles) is admin-only here as at GET /audit."""
    steward = _sql(service, "SELECT count(*) FROM audit_log")
    admin = _sql(service, "SELECT count(*) FROM audit_log", role="admin")
    assert steward.status_code == 400 and "audit_log" in steward.json()["detail"]
    assert admin.status_code == 200 and admin.json()["rows"][0][0] >= 0
    keys = _sql(service, "SELECT count(*) FROM api_keys", role="admin")
    assert keys.status_code == 400 and "api_keys" in keys.json()["detail"]
    shadow = _sql(service, "WITH api_keys AS (SELECT 7 AS n) SELECT n FROM api_keys")  # a CTE in scope is its own
    assert shadow.status_code == 200 and shadow.json()["rows"] == [[7]]


def test_reviewer_may_not_query(service):
    response = _sql(service, "SELECT 1", role="reviewer")
    assert response.status_code == 403 and "steward" in response.json()["detail"]


# The outside probe's escape attempts and our own: every one is refused with a 400 that says why,
# writes nothing, and reveals nothing outside the steward's tables.
REFUSED = [
    # writes and DDL
    ("INSERT INTO sources (name) VALUES ('evil')", "INSERT"),
    ("INSERT INTO sources (name) VALUES ('evil') RETURNING *", "INSERT"),
    ("UPDATE examples SET status = 'approved'", "UPDATE"),
    ("DELETE FROM examples", "DELETE"),
    ("DROP TABLE examples", "DROP"),
    ("DROP VIEW current_reviews", "DROP"),
    ("CREATE TABLE evil AS SELECT 1", "CREATE"),
    ("CREATE TEMP TABLE evil AS SELECT 1", "CREATE"),
    ("CREATE VIEW evil AS SELECT * FROM api_keys", "CREATE"),
    ("CREATE MACRO evil(x) AS x", "CREATE"),
    ("CREATE SEQUENCE evil", "CREATE"),
    ("CREATE TYPE evil AS ENUM ('a')", "CREATE"),
    ("CREATE INDEX evil ON examples (id)", "CREATE"),
    ("CREATE SCHEMA evil", "CREATE"),
    ("ALTER TABLE examples ADD COLUMN evil INT", "ALTER"),
    ("ALTER TABLE examples RENAME TO evil", "ALTER"),
    ("TRUNCATE examples", "DELETE"),
    ("MERGE INTO sources USING (SELECT 1 AS id) s ON sources.id = s.id WHEN MATCHED THEN DELETE", "only a single SELECT"),
    ("INSERT OR REPLACE INTO sources (id, name) VALUES (1, 'evil')", "INSERT"),
    ("COMMENT ON TABLE examples IS 'evil'", "only a single SELECT"),
    ("VACUUM", "only a single SELECT"),
    ("ANALYZE", "only a single SELECT"),
    # other databases, files, extensions, settings
    ("ATTACH '{tmp}/evil.duckdb' AS evil", "ATTACH"),
    ("ATTACH ':memory:' AS evil", "ATTACH"),
    ("DETACH curator", "DETACH"),
    ("USE system", "only a single SELECT"),
    ("COPY examples TO '{tmp}/evil.csv'", "COPY"),
    ("COPY (SELECT * FROM api_keys) TO '{tmp}/evil.csv'", "COPY"),
    ("COPY sources FROM '{tmp}/evil.csv'", "COPY"),
    ("EXPORT DATABASE '{tmp}/evil_export'", "EXPORT"),
    ("IMPORT DATABASE '{tmp}/evil_export'", "only a single SELECT"),
    ("INSTALL httpfs", "INSTALL/LOAD"),
    ("INSTALL httpfs FROM 'http://127.0.0.1:1/'", "INSTALL/LOAD"),
    ("LOAD httpfs", "INSTALL/LOAD"),
    ("LOAD '{tmp}/evil.duckdb_extension'", "INSTALL/LOAD"),
    ("UPDATE EXTENSIONS", "only a single SELECT"),
    ("SET enable_external_access = true", "SET"),
    ("SET autoinstall_known_extensions = true", "SET"),
    ("SET python_enable_replacements = true", "SET"),
    ("SET GLOBAL threads = 1", "SET"),
    ("RESET threads", "SET"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("PRAGMA database_list", "PRAGMA"),
    ("PRAGMA storage_info('api_keys')", "PRAGMA"),
    ("CALL checkpoint()", "CALL"),
    ("CALL pragma_storage_info('api_keys')", "CALL"),
    ("CHECKPOINT", "CALL"),
    ("FORCE CHECKPOINT", "CALL"),
    ("BEGIN TRANSACTION", "only a single SELECT"),
    ("COMMIT", "only a single SELECT"),
    ("ROLLBACK", "only a single SELECT"),
    ("PREPARE evil AS DELETE FROM examples", "only a single SELECT"),
    ("EXECUTE evil", "only a single SELECT"),
    ("DEALLOCATE evil", "only a single SELECT"),
    ("EXPLAIN ANALYZE DELETE FROM examples", "only a single SELECT"),
    ("EXPLAIN SELECT * FROM api_keys", "only a single SELECT"),
    ("CREATE SECRET evil (TYPE s3, KEY_ID 'x', SECRET 'y')", "CREATE"),
    ("DROP SECRET evil", "DROP"),
    ("SELECT 1; DELETE FROM examples", "exactly one statement"),
    ("SELECT 1; SELECT 2", "exactly one statement"),
    ("/* SELECT */ DELETE FROM examples", "DELETE"),
    ("WITH x AS (SELECT 1) DELETE FROM examples", "DELETE"),
    # table functions: none allowed by default (the probe: pragma_storage_info leaked key names)
    ("SELECT * FROM pragma_storage_info('api_keys')", "pragma_storage_info()"),
    ("SELECT * FROM pragma_table_info('api_keys')", "pragma_table_info()"),
    ("SELECT * FROM duckdb_tables()", "duckdb_tables()"),
    ("SELECT * FROM duckdb_columns()", "duckdb_columns()"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings()"),
    ("SELECT * FROM duckdb_secrets()", "duckdb_secrets()"),
    ("SELECT * FROM duckdb_extensions()", "duckdb_extensions()"),
    ("SELECT * FROM duckdb_databases()", "duckdb_databases()"),
    ("SELECT * FROM duckdb_functions()", "duckdb_functions()"),
    ("SELECT * FROM duckdb_dependencies()", "duckdb_dependencies()"),
    ("SELECT * FROM duckdb_temporary_files()", "duckdb_temporary_files()"),
    ("SELECT * FROM duckdb_memory()", "duckdb_memory()"),
    ("SELECT * FROM pragma_database_list()", "pragma_database_list()"),
    ("SELECT * FROM pragma_version()", "pragma_version()"),
    ("SELECT * FROM range(10)", "range()"),
    ("SELECT * FROM generate_series(1, 10)", "generate_series()"),
    ("SELECT repeat('a', 1000000) FROM range(200)", "range()"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto()"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob()"),
    ("SELECT * FROM read_parquet('{tmp}/x.parquet')", "read_parquet()"),
    ("SELECT * FROM parquet_metadata('{tmp}/x.parquet')", "parquet_metadata()"),
    ("SELECT * FROM read_json_auto('{tmp}/x.json')", "read_json_auto()"),
    ("SELECT * FROM read_ndjson_objects('{tmp}/x.json')", "read_ndjson_objects()"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv()"),
    ("SELECT * FROM glob('/etc/*')", "glob()"),
    ("SELECT * FROM query('DELETE FROM examples')", "query()"),
    ("SELECT * FROM query_table('api_keys')", "query_table()"),
    ("SELECT * FROM which_secret('s3://x/y', 's3')", "which_secret()"),
    ("SELECT * FROM examples, read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT (SELECT count(*) FROM glob('/*')) AS n", "glob()"),
    ("SELECT * FROM main.read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT * FROM system.main.duckdb_tables()", "duckdb_tables()"),
    # file paths and URLs as tables
    ("SELECT * FROM '/etc/hosts.csv'", "not a table or view of the store"),
    ("SELECT * FROM '/etc/passwd'", "not a table or view of the store"),
    ("SELECT * FROM 'http://127.0.0.1:1/x.csv'", "not a table or view of the store"),
    ("SELECT * FROM 's3://bucket/x.parquet'", "not a table or view of the store"),
    ("SELECT * FROM '~/.bashrc'", "not a table or view of the store"),
    ("SELECT * FROM 'curator.duckdb'", "not a table or view of the store"),
    ("SELECT count(*) FROM examples WHERE id IN (SELECT column0 FROM '{tmp}/ids.csv')", "not a table or view"),
    # credentials and admin-only tables, however spelled or nested
    ("SELECT * FROM api_keys", "api_keys"),
    ('SELECT * FROM "api_keys"', "api_keys"),
    ("SELECT * FROM API_KEYS", "API_KEYS"),
    ("SELECT * FROM main.api_keys", "api_keys"),
    ("SELECT * FROM curator.main.api_keys", "main schema"),
    ("SELECT * FROM examples WHERE EXISTS (SELECT 1 FROM api_keys)", "api_keys"),
    ("SELECT (SELECT max(name) FROM api_keys)", "api_keys"),
    ("SELECT * FROM examples e JOIN api_keys k ON e.id = k.id", "api_keys"),
    ("SELECT * FROM examples, LATERAL (SELECT * FROM api_keys)", "api_keys"),
    ("SELECT name FROM sources UNION ALL SELECT name FROM api_keys", "api_keys"),
    ("WITH k AS (SELECT * FROM api_keys) SELECT * FROM k", "api_keys"),
    ("WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k, api_keys) SELECT * FROM k", "api_keys"),
    ("SELECT * FROM examples ORDER BY (SELECT min(key_hash) FROM api_keys)", "api_keys"),
    ("SELECT * FROM audit_log", "audit_log"),
    ("SELECT details->>'sql' FROM audit_log WHERE action = 'sql.query'", "audit_log"),
    ("SELECT * FROM examples WHERE id IN (SELECT id FROM audit_log)", "audit_log"),
    ("WITH a AS (SELECT * FROM audit_log) SELECT count(*) FROM a", "audit_log"),
    ("SELECT * FROM jobs", "jobs"),
    ("SELECT * FROM api_key_id_seq", "api_key_id_seq"),
    ("SELECT * FROM other_db.main.examples", "main schema"),
    ("SELECT * FROM system.main.api_keys", "main schema"),
    ("SELECT * FROM temp.main.evil", "main schema"),
    ("SELECT * FROM information_schema.tables", "main schema"),
    ("SELECT * FROM information_schema.columns", "main schema"),
    ("SELECT * FROM pg_catalog.pg_class", "main schema"),
    ("SELECT * FROM sqlite_master", "sqlite_master"),
    ("SELECT * FROM duckdb_tables", "duckdb_tables"),
    ("SELECT * FROM pg_tables", "pg_tables"),
    ("DESCRIBE api_keys", "api_keys"),
    ("SUMMARIZE api_keys", "api_keys"),
    ("SHOW TABLES", "DESCRIBE"),
    ("SHOW ALL TABLES", "DESCRIBE"),
    ("DESCRIBE SELECT * FROM api_keys", "api_keys"),
    # a CTE name only inside its own query (the probe reached DuckDB's Python replacement scan)
    ("SELECT * FROM (WITH conn AS (SELECT 1) SELECT 1), conn", "conn"),
    ("SELECT (WITH settings AS (SELECT 1) SELECT 1) AS x FROM settings", "settings"),
    ("SELECT * FROM (WITH sys AS (SELECT 1) SELECT 1) t WHERE EXISTS (SELECT 1 FROM sys)", "sys"),
    # scalar functions that change state, read outside the store or reveal settings
    ("SELECT nextval('source_id_seq')", "nextval()"),
    ("SELECT currval('source_id_seq')", "currval()"),
    ("SELECT setseed(0.5)", "setseed()"),
    ("SELECT getenv('HOME')", "getenv()"),
    ("SELECT current_setting('s3_secret_access_key')", "current_setting()"),
    ("SELECT current_setting('temp_directory')", "current_setting()"),
    ("SELECT current_setting('home_directory')", "current_setting()"),
    ("SELECT getvariable('x')", "getvariable()"),
    ("SELECT content FROM read_text('/etc/passwd')", "read_text()"),
    ("SELECT upper(getenv('PATH')) FROM examples LIMIT 1", "getenv()"),
]
assert len(REFUSED) >= 120, len(REFUSED)


@pytest.mark.parametrize("sql,why", REFUSED, ids=[s[:40] for s, _ in REFUSED])
def test_every_write_and_file_path_is_refused(service, tmp_path, sql, why):
    response = _sql(service, sql.format(tmp=tmp_path))
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert why in detail, detail
    assert str(service.root) not in detail, "no absolute server path in the message"
    for key in service.keys.values():
        assert key[:8] not in detail, "nothing of a key in the message"
    assert not list(tmp_path.iterdir()), "nothing may be written outside the store"


def test_nothing_changed_after_the_refusals(service):
    """Runs after the refusals (file order): the store is as it was."""
    counts = _sql(service, "SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM examples), "
                           "(SELECT count(*) FROM examples WHERE status = 'approved'), "
                           "0").json()["rows"][0]
    assert "not a table or view" in _sql(service, "SELECT * FROM evil").json()["detail"]
    with service.as_role("steward") as client:
        report = client.get("/stats/report").json()
    assert counts == [len(report["counts"]["by_source"]), report["funnel"]["examples"],
                      report["counts"]["by_status"]["approved"], 0]
    assert counts[0] == 2  # bitext and mts-dialog: no 'evil' source was inserted


def test_a_slow_query_is_interrupted_and_the_service_goes_on(service):
    response = _sql(service, "SELECT count(*) FROM examples a, examples b, examples c, examples d "
                             "WHERE hash(a.id, b.id, c.id, d.id) = 0")
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_cli_stats_tables_print(tmp_path, shared_data):
    planted = build(tmp_path, shared_data)
    out = run_curator(["stats"], planted.env).stdout
    for title in ("by source", "lengths in characters", "funnel", "rejections", "reviewers", "duplicates removed",
                  "versions", "support@1"):
        assert title in out, title
    version = run_curator(["stats", "--version", "support@1"], planted.env).stdout
    assert "validation" in version and "attributed_cost_usd" in version and "funnel" not in version
