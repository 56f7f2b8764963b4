"""The HTTP service end to end: the real `curator serve` process on 127.0.0.1 owning a real
DuckDB file, keys made beforehand with the real CLI, and httpx speaking HTTP to it."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import httpx
import orjson
import pytest

from service_fixture import Service, serving_with_keys
from conftest import make_env, run_curator, run_json


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    with serving_with_keys(tmp_path_factory.mktemp("api")) as svc:
        yield svc


def _jsonl(*records: dict) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _chat_and_alpaca(token: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Two OpenAI chat examples and one Alpaca example, unique to ``token`` so tests sharing
    the server's store never see each other's rows as duplicates."""
    chat = _jsonl(
        {"messages": [{"role": "user", "content": f"What is 2+2? ({token})"},
                      {"role": "assistant", "content": "4."}]},
        {"messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": f"Capital of France? ({token})"},
                      {"role": "assistant", "content": "Paris."}]})
    alpaca = _jsonl({"instruction": f"Translate to French ({token})", "input": "Hello", "output": "Bonjour"})
    return [("files", ("chat.jsonl", chat, "application/jsonl")),
            ("files", ("alpaca.jsonl", alpaca, "application/jsonl"))]


def _raw_upload(filename: bytes, content: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart body built by hand, so odd filenames reach the server byte for byte."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\n".encode()
            + b'Content-Disposition: form-data; name="files"; filename="' + filename + b'"\r\n'
            + b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
            + f"--{boundary}--\r\n".encode())
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


# --- open routes -----------------------------------------------------------------------------

def test_health_is_open(service):
    response = httpx.get(f"{service.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_docs_are_served(service):
    docs = httpx.get(f"{service.url}/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower()
    spec = httpx.get(f"{service.url}/openapi.json").json()
    assert {"/health", "/sources", "/ingest", "/stats", "/keys", "/keys/{name}", "/audit"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/ingest"]["post"]["requestBody"]["content"]


# --- authentication and roles ------------------------------------------------------------------

PROTECTED = [("GET", "/sources"), ("POST", "/ingest"), ("GET", "/stats"), ("GET", "/keys"),
             ("POST", "/keys"), ("DELETE", "/keys/admin"), ("GET", "/keys/me"), ("GET", "/audit")]


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("authorization", [None, "Bearer cur_not-a-real-key", "Basic YWRtaW46YWRtaW4="])
def test_missing_or_wrong_key_is_401(service, method, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.request(method, f"{service.url}{path}", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert "API key" in response.json()["detail"]


def test_reviewer_may_not_ingest_or_read_stats(service):
    before = service.batch_dirs()
    with service.as_role("reviewer") as client:
        ingest = client.post("/ingest", files=_chat_and_alpaca("reviewer"))
        stats = client.get("/stats")
    for response in (ingest, stats):
        assert response.status_code == 403
        assert "steward" in response.json()["detail"]
    assert service.batch_dirs() == before, "a refused caller's upload must not reach the disk"


def test_steward_may_not_manage_keys(service):
    with service.as_role("steward") as client:
        response = client.post("/keys", json={"name": "sneaky", "role": "admin"})
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


# --- ingest ------------------------------------------------------------------------------------

def test_steward_uploads_chat_and_alpaca(service):
    with service.as_role("steward") as client:
        response = client.post("/ingest", files=_chat_and_alpaca("happy"), data={"source": "api-happy"})
        assert response.status_code == 200, response.text
        body = response.json()
        sources = {s["name"]: s for s in client.get("/sources").json()}
        stats = client.get("/stats").json()
    assert body["files"] == 2 and body["files_skipped"] == 0
    assert body["examples_added"] == 3 and body["documents_added"] == 0
    assert body["duplicates_skipped"] == 0 and body["rejected"] == []
    assert set(body) == {"batch_id", "files", "files_skipped", "skipped_files", "file_copies", "documents_added",
                         "examples_added", "duplicates_skipped", "rejected"}
    assert sources["api-happy"]["files"] == 2 and sources["api-happy"]["examples"] == 3
    assert any(row["source"] == "api-happy" and row["examples"] == 3 for row in stats["by_source"])
    saved = {p.name for p in service.uploads.glob("*/*.jsonl")}
    assert {"chat.jsonl", "alpaca.jsonl"} <= saved


def test_steward_runs_dedup_and_reads_the_explanation(service):
    answer = ("Open Settings, choose Security, then Reset password and follow the emailed link within an hour. "
              "If the link has expired, request a new one from the same page; the old link stops working. "
              "Accounts managed by your employer are reset by their administrator, not by us.")
    near = [{"instruction": f"How do I reset my password {tail}", "output": answer}
            for tail in ("please?", "now?", "today?")]
    with service.as_role("reviewer") as client:
        assert client.post("/dedup", json={"target": "examples"}).status_code == 403
    with service.as_role("steward") as client:
        up = client.post("/ingest", files=[("files", ("near.jsonl", _jsonl(*near), "application/json"))],
                         data={"source": "api-dedup"})
        assert up.status_code == 200, up.text
        assert client.post("/dedup", json={"target": "examples", "threshold": 1.5}).status_code == 422
        response = client.post("/dedup", json={"target": "examples", "threshold": 0.8})
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["clusters"] >= 1 and report["rows_marked_duplicate"] >= 2
        decisions = client.get("/dedup/decisions/examples").json()
        duplicate = next(d for d in decisions if d["decision"] == "duplicate")
        explained = client.get(f"/dedup/explain/examples/{duplicate['row_id']}").json()
        kept = client.post(f"/dedup/keep/examples/{duplicate['row_id']}")
        assert kept.status_code == 200, kept.text
    with service.as_role("admin") as admin:
        actions = {(a["action"], a["actor"]) for a in admin.get("/audit").json()}
    assert explained["representative"] == duplicate["duplicate_of"]
    assert {m["row_id"] for m in explained["members"]} >= {duplicate["row_id"], duplicate["duplicate_of"]}
    assert kept.json()["representative"] == duplicate["row_id"] and kept.json()["why"] == "chosen by a steward"
    assert {("dedup.run", "api:steward"), ("dedup.keep", "api:steward")} <= actions


def test_same_upload_again_is_skipped_not_duplicated(service):
    files = _chat_and_alpaca("again")
    with service.as_role("steward") as client:
        first = client.post("/ingest", files=files, data={"source": "api-again"}).json()
        second = client.post("/ingest", files=files, data={"source": "api-again"})
    assert first["examples_added"] == 3
    assert second.status_code == 200
    assert second.json()["files_skipped"] == 2 and second.json()["examples_added"] == 0


def test_concurrent_uploads_are_serialised_not_conflicting(service):
    """Ingests share one DuckDB writer: they queue on the write lock instead of failing."""

    def upload(i: int) -> httpx.Response:
        with service.as_role("steward") as client:
            return client.post("/ingest", files=_chat_and_alpaca(f"concurrent-{i}"), data={"source": "api-concurrent"})

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(upload, range(4)))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    assert len({r.json()["batch_id"] for r in responses}) == 4
    assert sum(r.json()["examples_added"] for r in responses) == 12


@pytest.mark.parametrize("name,content,code", [
    ("x.jsonl", b"\x00\x01\x02binary\x00payload", "binary_file"),
    ("broken.jsonl", b'{"messages": [{"role": "user"\n', "malformed_json"),
])
def test_upload_that_yields_nothing_is_422_with_reasons(service, name, content, code):
    with service.as_role("steward") as client:
        response = client.post("/ingest", files={"files": (name, content)})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["examples_added"] == 0 and detail["documents_added"] == 0
    assert detail["rejected"] == [{"origin": f"{name}:1", "reason": detail["rejected"][0]["reason"]}]
    assert detail["rejected"][0]["reason"].startswith(f"{code}: ")


def test_a_bad_file_beside_a_good_one_is_reported_in_a_200(service):
    files = [*_chat_and_alpaca("mixed"), ("files", ("junk.jsonl", b"not json at all\n", "application/jsonl"))]
    with service.as_role("steward") as client:
        response = client.post("/ingest", files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["examples_added"] == 3
    assert [r["origin"] for r in body["rejected"]] == ["junk.jsonl:1"]
    assert body["rejected"][0]["reason"].startswith("malformed_json: ")


@pytest.mark.parametrize("filename,why", [
    (b"../../evil.jsonl", "traversal"),
    (b"../evil.jsonl", "traversal"),
    (b"ok/../../evil.jsonl", "traversal"),
    (b"/tmp/evil.jsonl", "absolute"),
    (b"..\\..\\evil.jsonl", "backslash"),
    (b"evil\x00.jsonl", "NUL"),
    (b"", "empty"),
])
def test_unsafe_filenames_are_refused(service, filename, why):
    before = service.batch_dirs()
    body, headers = _raw_upload(filename, _jsonl({"instruction": "x", "output": "y"}))
    with service.as_role("steward") as client:
        response = client.post("/ingest", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert why in response.json()["detail"]
    assert service.batch_dirs() == before
    assert not list(service.root.rglob("evil*.jsonl"))
    assert not Path("/tmp/evil.jsonl").exists()


def test_httpx_traversal_name_is_refused(service):
    with service.as_role("steward") as client:
        response = client.post("/ingest", files={"files": ("../../evil.jsonl", b'{"text": "x"}\n')})
    assert response.status_code == 400
    assert "path traversal" in response.json()["detail"]
    assert not list(service.root.rglob("evil.jsonl"))


def test_unknown_format_is_422(service):
    before = service.batch_dirs()
    with service.as_role("steward") as client:
        response = client.post("/ingest", files=_chat_and_alpaca("fmt"), data={"format": "yaml"})
    assert response.status_code == 422
    assert any(e["loc"] == ["format"] and e["input"] == "yaml" for e in response.json()["detail"]), response.text
    assert service.batch_dirs() == before


@pytest.mark.parametrize("kwargs", [
    {"json": {"files": ["a"]}},
    {"data": {"source": "only-a-field"}, "files": {"other": ("a.txt", b"x")}},
    {"data": {"source": "no-files"}, "files": {}},
])
def test_malformed_ingest_requests_are_4xx(service, kwargs):
    with service.as_role("steward") as client:
        response = client.post("/ingest", **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["detail"], str)


@pytest.fixture(scope="module")
def small_limit_service(tmp_path_factory) -> Iterator[Service]:
    with serving_with_keys(tmp_path_factory.mktemp("api-limit"), roles=("steward",), CURATOR_MAX_UPLOAD_BYTES="1024") as svc:
        yield svc


def test_upload_over_the_limit_is_413_and_leaves_nothing(small_limit_service):
    svc = small_limit_service
    small = ("files", ("small.txt", b"A short note that fits under the limit.\n", "text/plain"))
    big = ("files", ("big.txt", b"word " * 1000, "text/plain"))
    with svc.as_role("steward") as client:
        too_big = client.post("/ingest", files=[small, big])
        fits = client.post("/ingest", files=[small])
    assert too_big.status_code == 413
    assert "1024" in too_big.json()["detail"] and "big.txt" in too_big.json()["detail"]
    assert fits.status_code == 200, fits.text
    assert fits.json()["documents_added"] == 1
    leftover = [p.name for p in svc.uploads.rglob("*") if p.is_file()]
    assert leftover == ["small.txt"], "the refused batch, its small file included, must be removed"


# --- keys and audit ----------------------------------------------------------------------------

def test_admin_manages_keys(service):
    with service.as_role("admin") as admin:
        created = admin.post("/keys", json={"name": "rev-api", "role": "reviewer"})
        assert created.status_code == 201, created.text
        secret = created.json()["key"]
        again = admin.post("/keys", json={"name": "rev-api", "role": "reviewer"})
        bad_role = admin.post("/keys", json={"name": "other", "role": "owner"})
        listed = admin.get("/keys").json()
    assert created.json()["role"] == "reviewer" and secret.startswith("cur_")
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    assert bad_role.status_code == 422
    row = next(r for r in listed if r["name"] == "rev-api")
    assert row["role"] == "reviewer" and row["revoked_at"] is None and secret.startswith(row["prefix"])
    assert all(set(r) == {"id", "name", "role", "prefix", "created_at", "revoked_at"} for r in listed)
    assert secret not in orjson.dumps(listed).decode()

    with service.client(secret) as reviewer:
        me = reviewer.get("/keys/me")
        stats = reviewer.get("/stats")
    assert me.status_code == 200 and me.json() == {"name": "rev-api", "role": "reviewer"}
    assert stats.status_code == 403 and "steward" in stats.json()["detail"]

    with service.as_role("admin") as admin:
        revoked = admin.delete("/keys/rev-api")
        twice = admin.delete("/keys/rev-api")
    assert revoked.status_code == 200 and revoked.json() == {"name": "rev-api", "revoked": True}
    assert twice.status_code == 404
    with service.client(secret) as reviewer:
        assert reviewer.get("/keys/me").status_code == 401


def test_audit_shows_api_actors(service):
    with service.as_role("steward") as steward:
        batch = steward.post("/ingest", files=_chat_and_alpaca("audit")).json()["batch_id"]
    with service.as_role("admin") as admin:
        assert admin.post("/keys", json={"name": "audited", "role": "steward"}).status_code == 201
        response = admin.get("/audit", params={"limit": 1000})
        too_many = admin.get("/audit", params={"limit": 0})
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    seen = {(r["actor"], r["action"], r["target"]) for r in rows}
    assert ("api:admin", "keys.create", "key:audited") in seen
    assert ("api:steward", "ingest.start", f"batch:{batch}") in seen
    assert ("api:steward", "ingest.finish", f"batch:{batch}") in seen
    finish = next(r for r in rows if r["action"] == "ingest.finish" and r["target"] == f"batch:{batch}")
    assert finish["details"]["examples_added"] == 3
    assert too_many.status_code == 422


def test_reviewer_and_steward_may_not_read_audit(service):
    for role in ("reviewer", "steward"):
        with service.as_role(role) as client:
            response = client.get("/audit")
        assert response.status_code == 403 and "admin" in response.json()["detail"]


# --- the CLI beside the service --------------------------------------------------------------

def test_cli_goes_through_the_service_holding_the_store(service):
    """The store is locked by the service; the CLI finds it (the service file beside the store)
    and sends its commands there, printing what the API returns."""
    cli = run_json(["stats"], service.env)
    with service.as_role("steward") as client:
        api = client.get("/stats/report").json()
    assert cli["totals"] == api["totals"] and cli["counts"] == api["counts"]
    sql = run_json(["sql", "SELECT count(*) AS n FROM jobs"], service.env)
    assert sql["columns"] == ["n"] and sql["rows"][0][0] >= 0
    proc = run_curator(["keys", "list"], service.env)  # admin-only: the local owner's token is an admin
    assert "steward" in proc.stdout


@pytest.mark.slow
def test_cli_reaches_a_remote_service_with_its_own_key(service, tmp_path):
    """Another machine's CLI: no service file, `CURATOR_URL` and `CURATOR_API_KEY` (its role applies)."""
    remote = make_env(tmp_path, CURATOR_URL=service.url, CURATOR_API_KEY=service.keys["steward"])
    stats = run_json(["stats"], remote)
    assert stats["totals"] == run_json(["stats"], service.env)["totals"]
    refused = run_curator(["keys", "list"], remote, check=False)  # admin-only: a steward key is refused
    assert refused.returncode == 1 and "admin role" in refused.stderr and "Traceback" not in refused.stderr
    keyless = run_curator(["stats"], dict(remote, CURATOR_API_KEY=""), check=False)
    assert keyless.returncode == 1 and "CURATOR_API_KEY" in keyless.stderr
    assert len(keyless.stderr.strip().splitlines()) == 1
    gone = run_curator(["stats"], dict(remote, CURATOR_URL="http://127.0.0.1:9"), check=False)
    assert gone.returncode == 1 and "cannot reach the curator service" in gone.stderr


def test_reviewer_pages_examples_and_reads_one(service):
    with service.as_role("steward") as client:
        assert client.post("/ingest", files=_chat_and_alpaca("pages"), data={"source": "api-pages"}).status_code == 200
    with service.as_role("reviewer") as client:
        first = client.get("/examples", params={"limit": 2, "status": "candidate"}).json()
        rest = client.get("/examples", params={"after": first["next_after"], "limit": 1000}).json()
        one = client.get(f"/examples/{first['items'][0]['id']}").json()
        missing = client.get("/examples/999999999")
        bad = client.get("/examples", params={"status": "maybe"})
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert len(first["items"]) == 2 and ids == sorted(set(ids)) and rest["next_after"] is None
    assert any("(pages)" in m["content"] for e in first["items"] + rest["items"] for m in e["messages"])
    assert one["id"] == ids[0] and isinstance(one["messages"], list) and "is_duplicate" in one
    assert missing.status_code == 404 and bad.status_code == 422
