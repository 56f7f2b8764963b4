"""The second outside probe's hand-made requests (issue 29), each sent to the real `curator serve`
on a real store: cookie writes that a stray Authorization header once exempted from the CSRF and
Origin checks, numbers, nesting, surrogates, null bytes and long paths that were bare 500s,
generating SQL that no limit reached, and the smaller defects (file modes, secrets in start-up
errors, the OpenAPI document in prod, headers, the access log, OPTIONS)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import duckdb
import pytest

from conftest import make_env, run_curator
from service_fixture import free_port, logged_in, serving_with_keys

STRONG = "9f2c1e7a4b6d8e0f3a5c7e9b1d3f5a7c"
FOREIGN = "http://evil.example"
# The probe's three steward queries: 15.1 GB, 4.0 GB and 2.4 GB of service memory before their 408.
D3_QUERIES = ["SELECT len(range(300000000))", "SELECT unnest(range(50000000))", "SELECT repeat('x',1000000000)"]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # No test here is about a time limit: the SQL one is set far beyond anything these queries take.
    with serving_with_keys(tmp_path_factory.mktemp("hostile"), CURATOR_SQL_TIMEOUT_S="300",
                           CURATOR_SQL_TABLE_FUNCTIONS='["range"]', CURATOR_DUCKDB_MEMORY_LIMIT="300MB") as svc:
        yield svc


def _pid(service) -> int:
    return json.loads(Path(f"{service.env['CURATOR_DB']}.service.json").read_text())["pid"]


def _memory_kb(pid: int) -> dict[str, int]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines) if k in ("VmRSS", "VmHWM")}


# --- D1: a Basic, Negotiate or empty Bearer header never exempts a cookie write ---------------

UNSAFE = [("POST", "/keys", {"name": "planted", "role": "admin"}), ("DELETE", "/keys/steward", None),
          ("POST", "/dedup/keep/examples/1", None), ("POST", "/sql", {"sql": "SELECT 1"}),
          ("POST", "/jobs/1/cancel", None), ("POST", "/versions", {"name": "x"}),
          ("POST", "/exports", {"version": "x@1", "format": "openai"})]
# (`Bearer ` with its empty token reaches the service as `Bearer`: trailing blanks are not part of a value)
STRAY = ["Basic dXNlcjpwYXNz", "Bearer", "Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg"]


@pytest.mark.parametrize("authorization", STRAY, ids=["basic", "bearer-empty", "negotiate"])
def test_a_stray_authorization_header_does_not_skip_the_origin_or_csrf_check(service, authorization):
    with logged_in(service, "admin") as browser:
        for method, path, body in UNSAFE:
            headers = {"Authorization": authorization, "Origin": FOREIGN}
            foreign = browser.request(method, path, json=body, headers=headers)
            assert foreign.status_code == 403 and "cross-site" in foreign.json()["detail"], (path, foreign.text)
            own = browser.request(method, path, json=body, headers=headers | {"Origin": service.url})
            assert own.status_code == 403 and "CSRF" in own.json()["detail"], (path, own.text)
    with service.as_role("admin") as admin:
        names = [k["name"] for k in admin.get("/keys").json()]
    assert "planted" not in names and "steward" in names


def test_json_sent_as_text_plain_is_415(service):
    body = json.dumps({"sql": "SELECT 1"})
    with service.as_role("steward") as client:
        for content_type in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x"):
            refused = client.post("/sql", content=body, headers={"Content-Type": content_type})
            assert refused.status_code == 415 and "application/json" in refused.json()["detail"], refused.text
        assert client.post("/sql", content=body, headers={"Content-Type": "application/json; charset=utf-8"}) \
            .status_code == 200
    with logged_in(service, "admin") as browser:  # the page's own writes: token and Origin right, type wrong
        refused = browser.post("/keys", content=json.dumps({"name": "plain", "role": "admin"}),
                               headers={"Content-Type": "text/plain", "Origin": service.url,
                                        "X-CSRF-Token": browser.csrf})
    assert refused.status_code == 415


# --- D4: five causes of bare 500s --------------------------------------------------------------

@pytest.mark.parametrize("path,body", [
    ("/sql", b'{"sql": "SELECT 1", "max_rows": NaN}'),
    ("/sql", b'{"sql": "SELECT 1", "max_rows": Infinity}'),
    ("/sql", b'{"sql": "SELECT 1", "max_rows": -Infinity}'),
    ("/sql", b'{"sql": "SELECT 1", "max_rows": 1e400}'),
    ("/versions", b'{"name": "n", "split": {"train": NaN}}'),
    ("/triage/auto-accept/policies", b'{"min_score": NaN}'),
    ("/sql", b'{"sql": "SELECT \'\\ud800\'"}'),
    ("/keys", b'{"name": "\\ud800", "role": "reviewer"}'),
    ("/keys", b'{"name": "ok", "role": "\\udfff"}'),
    ("/sql", b'{"sql": ' + b"[" * 1000 + b"]" * 1000 + b"}"),
    ("/keys", b'{"name": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b', "role": "reviewer"}'),
    ("/sql", b'{"sql": ' + b"[" * 70 + b"]" * 70 + b"}"),
], ids=["nan", "infinity", "-infinity", "1e400", "versions-nan", "policies-nan", "surrogate-sql",
        "surrogate-key-name", "surrogate-key-role", "nested-1000-list", "nested-1000-object", "nested-70"])
def test_hostile_json_is_a_422_naming_the_problem(service, path, body):
    with service.as_role("admin") as client:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_nesting_within_the_cap_is_still_a_plain_422(service):
    deep = b"[" * 60 + b"]" * 60  # parses, then fails validation; the error echoes the input
    with service.as_role("admin") as client:
        response = client.post("/keys", content=b'{"name": ' + deep + b', "role": "reviewer"}',
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "name" in response.text


def test_deep_sql_expressions_are_refused_not_500(service):
    with service.as_role("steward") as client:
        for sql in ("SELECT " + "[" * 400 + "1" + "]" * 400, "SELECT " + "1+(" * 450 + "1" + ")" * 450):
            response = client.post("/sql", json={"sql": sql})
            assert response.status_code == 400, response.text


@pytest.mark.parametrize("tail", ["a%00b", "%00", "a" * 5000, ("b" * 250 + "/") * 20 + "c", "d" * 300],
                         ids=["null-byte", "only-null", "path-5000", "deep-5000", "component-300"])
def test_export_paths_the_os_refuses_are_404(service, tail):
    with service.as_role("steward") as client:
        response = client.get(f"/exports/x@1/openai/{tail}")
    assert response.status_code == 404, response.text
    assert "no file" in response.json()["detail"]


# --- D3: bounded SQL ---------------------------------------------------------------------------

def test_generating_queries_are_refused_before_they_run(service):
    pid = _pid(service)
    before = _memory_kb(pid)["VmRSS"]
    with service.as_role("steward") as client:
        for sql in [*D3_QUERIES, "SELECT lpad('x', 300000000, 'y')", "SELECT len(list_resize([1], 30000000))",
                    "SELECT printf('%0300000000d', 1)", "SELECT range(5000), range(5000)",
                    "SELECT list_reduce(range(33), lambda a, x: a || a, 'x')", "SELECT sleep_ms(600000)",
                    "SELECT list_transform([1, 2], lambda x: range(5000))", "SELECT range((SELECT 300000000))"]:
            response = client.post("/sql", json={"sql": sql})
            assert response.status_code == 400 and "refuses" in response.json()["detail"], (sql, response.text)
        small = client.post("/sql", json={"sql": "SELECT len(range(5000)), repeat('ab', 10), lpad('7', 3, '0')"})
        assert small.status_code == 200 and small.json()["rows"] == [[5000, "ab" * 10, "007"]], small.text
    growth_mb = (_memory_kb(pid)["VmHWM"] - before) / 1024
    assert growth_mb < 1024, f"the service grew {growth_mb:.0f} MB"


def test_work_duckdb_counts_stops_at_its_memory_limit(service):
    """An aggregate over generated rows (a table function streams them) grows until the service's
    DuckDB memory limit (300 MB here) and fails there, with no 500 and the service still answering."""
    pid = _pid(service)
    before = _memory_kb(pid)["VmRSS"]
    with service.as_role("steward") as client:
        for sql in ("SELECT length(string_agg(repeat('x', 1000), '')) FROM range(100000000)",
                    "SELECT len(list(i)) FROM range(1000000000) t(i)"):
            response = client.post("/sql", json={"sql": sql})
            assert response.status_code == 400 and "Out of Memory" in response.json()["detail"], response.text
        assert client.get("/health").status_code == 200
    growth_mb = (_memory_kb(pid)["VmHWM"] - before) / 1024
    assert growth_mb < 1024, f"the service grew {growth_mb:.0f} MB"


def test_the_service_sets_duckdbs_memory_and_temp_limits(tmp_path):
    from curator.api.app import bound_memory
    from curator.config import Settings

    conn = duckdb.connect(str(tmp_path / "s.duckdb"))
    bound_memory(conn, Settings(duckdb_memory_limit="512MB", duckdb_temp_limit="2GB"))
    memory, temp = conn.execute("SELECT current_setting('memory_limit'), current_setting('max_temp_directory_size')"
                                ).fetchone()
    assert memory == "488.2 MiB" and temp.startswith("1.8"), (memory, temp)
    with pytest.raises(ValueError):
        Settings(duckdb_memory_limit="1GB'; ATTACH 'x")


# --- D7: smaller defects -----------------------------------------------------------------------

def test_the_store_and_its_wal_are_readable_by_the_owner_only(service):
    with service.as_role("admin") as admin:
        assert admin.post("/keys", json={"name": "wal-writer", "role": "reviewer"}).status_code == 201
    db = Path(service.env["CURATOR_DB"])
    found = [p for p in (db, Path(f"{db}.wal")) if p.exists()]
    assert db in found
    for path in found:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))


def test_prod_start_up_errors_do_not_echo_secrets(tmp_path):
    env = make_env(tmp_path, CURATOR_ENVIRONMENT="prod", CURATOR_LABEL_STUDIO_TOKEN="RealLsTok_abc12",
                   CURATOR_WEBHOOK_SECRET="hunter2hunter2", CURATOR_SESSION_SECRET="short-session",
                   CURATOR_LABEL_STUDIO_PASSWORD=STRONG, OPENAI_API_KEY="sk-local")
    result = run_curator(["serve", "--port", str(free_port())], env, check=False, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "label_studio_token" in result.stderr and "webhook_secret" in result.stderr
    for secret in ("RealLsTok_abc12", "hunter2hunter2", "short-session"):
        assert secret not in result.stderr + result.stdout


@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    secrets = {f"CURATOR_{name}": STRONG for name in ("WEBHOOK_SECRET", "SESSION_SECRET", "LABEL_STUDIO_TOKEN",
                                                      "LABEL_STUDIO_PASSWORD")}
    with serving_with_keys(tmp_path_factory.mktemp("prod"), roles=("reviewer",), CURATOR_ENVIRONMENT="prod",
                           OPENAI_API_KEY="sk-local", **secrets) as svc:
        yield svc


def test_prod_opens_only_health_without_a_key(prod):
    with prod.client() as anonymous:
        assert anonymous.get("/health").status_code == 200
        assert anonymous.get("/openapi.json").status_code == 401
        assert anonymous.get("/docs").status_code in (401, 404)
    with prod.as_role("reviewer") as reviewer:
        spec = reviewer.get("/openapi.json")
    assert spec.status_code == 200 and "/sql" in spec.json()["paths"]


def test_413_answers_carry_the_security_headers(service):
    with service.client() as anonymous:
        response = anonymous.post("/sql", content=b"x" * 5_000_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_the_page_and_login_are_not_cached(service):
    with service.client() as anonymous:
        assert anonymous.get("/login").headers["cache-control"] == "no-store"
    with logged_in(service) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"


def test_the_access_log_has_no_query_strings(service):
    with service.as_role("steward") as client:
        client.get("/examples", params={"limit": 1, "note": "query-text-for-no-log"})
        client.get("/health?token=also-not-logged")
    log = (service.root / "server.log").read_text()
    assert "GET /examples" in log and "GET /health" in log
    assert "query-text-for-no-log" not in log and "also-not-logged" not in log


def test_options_allow_lists_exactly_the_documented_methods(service):
    with service.as_role("reviewer") as client:
        paths = client.get("/openapi.json").json()["paths"]
        wrong = {}
        for template, methods in paths.items():
            url = "/".join("1" if part.startswith("{") else part for part in template.split("/"))
            response = client.options(url)
            allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()} - {"HEAD"}
            if response.status_code != 405 or allowed != {m.upper() for m in methods}:
                wrong[template] = (response.status_code, sorted(allowed), sorted(methods))
    assert not wrong, wrong


def test_a_webhook_cut_off_mid_body_is_no_traceback_and_queues_nothing(tmp_path):
    """Label Studio sends each webhook once with a 1 s timeout; on a loaded machine it hangs up
    before the body is read. That must end quietly (the reconciliation pull recovers the verdict),
    not as an unhandled ClientDisconnect in the log; the next delivery is answered as usual."""
    import socket
    from urllib.parse import urlparse

    import httpx

    with serving_with_keys(tmp_path, CURATOR_WEBHOOK_SECRET="cut-off-secret") as svc:
        where = urlparse(svc.url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
            sock.sendall(b"POST /webhooks/label-studio HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"X-Curator-Webhook-Secret: cut-off-secret\r\nContent-Length: 4000\r\n\r\n"
                         b'{"action": "ANNOTATION_CREATED", "annotation": {"id": 1')
        inbox = httpx.get(f"{svc.url}/webhooks/inbox", headers={"Authorization": f"Bearer {svc.keys['steward']}"})
        assert inbox.status_code == 200 and inbox.json()["pending"] == 0, inbox.text
        ignored = httpx.post(f"{svc.url}/webhooks/label-studio", json={"action": "PROJECT_UPDATED"},
                             headers={"X-Curator-Webhook-Secret": "cut-off-secret"})
        assert ignored.status_code == 202 and ignored.json()["ignored"], ignored.text
    # serving_with_keys fails the test on any traceback in the service's log
