"""The service as the one owner of the store: writing operations run as jobs (one at a time,
followed, cancelled), a killed service leaves its job marked failed and a re-run finishes the
work exactly, and webhook deliveries are acknowledged while a long job writes, then applied
once each."""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import orjson
import pytest

import service_fixture
from conftest import REPO, make_env, run_curator, run_json

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

WORDS = ("agreement party confidential information disclosure receiving obligations term notice law court "
         "patient dose symptom history exam plan order refund account shipping invoice delivery").split()


def _corpus(root: Path, files: int, records: int, seed: int = 7) -> Path:
    """Many JSONL files of documents, so an ingest commits file by file for a few seconds."""
    rng = random.Random(seed)
    folder = root / "corpus"
    folder.mkdir()
    for f in range(files):
        lines = [orjson.dumps({"text": f"file {f} record {r}: " + " ".join(rng.choices(WORDS, k=90))})
                 for r in range(records)]
        (folder / f"part-{f:04d}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return folder


def _tables(db: str) -> dict[str, list]:
    with duckdb.connect(db, read_only=True) as conn:
        return {"documents": conn.execute("SELECT text_hash, kind, n_chars, regexp_extract(origin, ':([0-9]+)$', 1), "
                                          "regexp_extract(origin, '([^/]+):[0-9]+$', 1) FROM documents "
                                          "ORDER BY ALL").fetchall(),
                "files": conn.execute("SELECT sha256, n_bytes, documents, rejects FROM files ORDER BY ALL").fetchall()}


def _job(served, job_id: int) -> dict:
    with served.client(timeout=10) as client:
        return client.get(f"/jobs/{job_id}", headers={"Authorization": f"Bearer {_token(served)}"}).json()


def _token(served) -> str:
    return served.token


def _serve(env):
    served = service_fixture.start(env)
    info = json.loads(Path(env["CURATOR_DB"] + ".service.json").read_text())
    served.token = info["token"]
    return served


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _corpus(tmp_path_factory.mktemp("jobs-corpus"), files=80, records=600)


def test_kill_9_mid_job_is_failed_at_restart_and_a_rerun_finishes_exactly(tmp_path, corpus):
    reference = make_env(tmp_path / "reference")
    run_curator(["ingest", str(corpus)], reference)

    env = make_env(tmp_path / "killed", CURATOR_REVIEW_PULL_INTERVAL="0")
    run_curator(["init"], env)
    served = _serve(env)
    try:
        files = [("files", (f"corpus/{p.name}", p.read_bytes(), "application/json")) for p in sorted(corpus.iterdir())]
        with served.client(served.token) as client:
            queued = client.post("/ingest", files=files, data={"params": json.dumps({"paths": ["corpus"]})},
                                 headers={"Prefer": "respond-async"})
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["id"]
        deadline = time.monotonic() + 120
        while True:
            job = _job(served, job_id)
            p = job["progress"]
            if job["status"] == "running" and p["done"] and p["total"] and p["done"] < p["total"] * 0.7:
                break
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.01)
        served.kill()
    finally:
        served.stop()
    assert Path(env["CURATOR_DB"] + ".service.json").exists()  # a killed service cannot withdraw it

    served = _serve(env)  # the stale service file is replaced; the orphaned job is found
    try:
        job = _job(served, job_id)
        assert job["status"] == "failed" and job["error"]["type"] == "ServiceStopped", job
        assert "run the same operation again" in job["error"]["detail"]
        partial = run_json(["sql", "SELECT count(*) FROM files"], env)["rows"][0][0]
        assert 0 < partial < len(list(corpus.iterdir()))
        again = run_json(["ingest", str(corpus)], env)  # through the service: uploaded, a job, followed
        assert again["files"] + again["files_skipped"] == len(list(corpus.iterdir())) and again["files_skipped"] == partial
    finally:
        served.stop()
    assert not Path(env["CURATOR_DB"] + ".service.json").exists()
    assert _tables(env["CURATOR_DB"]) == _tables(reference["CURATOR_DB"])


def test_jobs_run_in_order_reads_answer_meanwhile_and_cancel_rolls_back(tmp_path, corpus):
    env = make_env(tmp_path, CURATOR_REVIEW_PULL_INTERVAL="0")
    run_curator(["init"], env)
    served = _serve(env)
    try:
        files = [("files", (f"corpus/{p.name}", p.read_bytes(), "application/json")) for p in sorted(corpus.iterdir())]
        with served.client(served.token) as client:
            empty = client.get("/stats").json()  # kept in memory until the runner's next write
            first = client.post("/ingest", files=files, headers={"Prefer": "respond-async"},
                                data={"params": json.dumps({"paths": ["corpus"], "source": "first"})}).json()
            second = client.post("/dedup", json={"target": "documents"}, headers={"Prefer": "respond-async"}).json()
            third = client.post("/dedup", json={"target": "documents", "threshold": 0.5},
                                headers={"Prefer": "respond-async"}).json()
            cancelled = client.post(f"/jobs/{third['id']}/cancel").json()
            assert cancelled["status"] == "cancelled"
            # Reads answer while the ingest writes.
            stats = client.get("/stats")
            sql = client.post("/sql", json={"sql": "SELECT count(*) FROM documents"})
            assert stats.status_code == 200 and sql.status_code == 200
            with client.stream("GET", f"/jobs/{second['id']}/events") as events:
                seen = [json.loads(line[6:]) for line in events.iter_lines() if line.startswith("data: ")]
        assert seen[-1]["status"] == "succeeded" and seen[-1]["result"]["target"] == "documents"
        assert {"queued", "running"} & {e["status"] for e in seen[:-1]} or len(seen) == 1
        done = _job(served, first["id"])
        assert done["status"] == "succeeded" and done["result"]["files"] == len(list(corpus.iterdir()))
        assert done["started_at"] <= seen[-1]["started_at"]  # one writer, in order
        assert _job(served, third["id"])["status"] == "cancelled"
        with served.client(served.token) as client:
            missing = client.get("/jobs/999999")
            again = client.post(f"/jobs/{first['id']}/cancel")
            after = client.get("/stats").json()
            counted = client.post("/sql", json={"sql": "SELECT count(*) AS n FROM documents"}).json()["rows"][0]
        assert missing.status_code == 404 and again.status_code == 400
        # Each finished job moved the runner's generation, so no answer from before it is served.
        assert sum(empty["documents_by_kind"].values()) == 0
        assert sum(after["documents_by_kind"].values()) == counted[0] == done["result"]["documents_added"] > 0
    finally:
        served.stop()


def _payload(i: int, task_id: int, draft: str) -> dict:
    from review_fixture import planned_answer

    return {"action": "ANNOTATION_CREATED", "task": {"id": task_id},
            "annotation": {"id": 50_000_000 + i, "task": task_id, "completed_by": 1, "lead_time": 5.0 + i % 7,
                           "result": planned_answer(i, draft)[0]}}


@pytest.mark.slow
def test_webhooks_during_a_long_job_are_acknowledged_then_applied_once(tmp_path, corpus, label_studio):
    secret = "jobs-webhook-secret"
    env = make_env(tmp_path, CURATOR_LABEL_STUDIO_URL=label_studio.url, CURATOR_LABEL_STUDIO_TOKEN=label_studio.token,
                   CURATOR_LABEL_STUDIO_PROJECT="jobs webhooks", CURATOR_WEBHOOK_SECRET=secret,
                   CURATOR_REVIEW_PULL_INTERVAL="0")
    samples = sorted(str(p) for p in (REPO / "examples" / "data").iterdir())
    for args in (["ingest", *samples], ["candidates", "extract"], ["dedup"], ["review", "setup"],
                 ["review", "push", "--limit", "60"]):
        run_curator(args, env)
    with duckdb.connect(env["CURATOR_DB"], read_only=True) as conn:
        tasks = conn.execute("SELECT ls_task_id, draft FROM review_tasks ORDER BY example_id").fetchall()
    payloads = [_payload(i, *tasks[i % len(tasks)]) for i in range(300)]
    served = _serve(env)
    try:
        files = [("files", (f"corpus/{p.name}", p.read_bytes(), "application/json")) for p in sorted(corpus.iterdir())]
        with served.client(served.token) as client:
            job = client.post("/ingest", files=files, headers={"Prefer": "respond-async"},
                              data={"params": json.dumps({"paths": ["corpus"]})}).json()
        while _job(served, job["id"])["status"] == "queued":
            time.sleep(0.01)

        def deliver(payload) -> tuple[int, float]:
            with served.client(timeout=10) as hook:
                started = time.perf_counter()
                response = hook.post("/webhooks/label-studio", json=payload,
                                     headers={"X-Curator-Webhook-Secret": secret})
                return response.status_code, time.perf_counter() - started

        with ThreadPoolExecutor(8) as pool:
            acks = list(pool.map(deliver, payloads))
        during = _job(served, job["id"])["status"]
        assert all(code == 202 for code, _ in acks)
        assert during == "running", "the deliveries were meant to land while the ingest wrote"
        deadline = time.monotonic() + 120
        with served.client(served.token) as client:
            while client.get("/webhooks/inbox").json()["pending"] or _job(served, job["id"])["status"] == "running":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            # The same deliveries again (Label Studio repeats an event): applied, nothing added.
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(deliver, payloads[:50]))
            while client.get("/webhooks/inbox").json()["pending"]:
                time.sleep(0.2)
    finally:
        served.stop()
    with duckdb.connect(env["CURATOR_DB"], read_only=True) as conn:
        via = conn.execute("SELECT count(*), count(DISTINCT ls_annotation_id) FROM reviews "
                           "WHERE received_via = 'webhook'").fetchone()
    assert via == (300, 300)
