"""The service as the one owner of the store, under load: webhook deliveries and reads while a
long writing job (near-duplicate detection over a large corpus) runs.

    python bench/service.py                      # 250k documents, 1,000 deliveries (~2 min on 2 cores)
    python bench/service.py --senders 8          # eight senders at once: the queue at saturation
    python bench/service.py --idle               # the same deliveries and reads, no job (the reference)
    python bench/service.py --docs 20000 --deliveries 300     # a quick look

Side by side, in one run:
- **ours**: the receiver writes each delivery to the durable inbox and answers; the runner
  applies the inbox when the job ends. We time the acknowledgement (what Label Studio waits for,
  ~1 s at most, never retried).
- **baseline**: the design before it, where the receiver applied the delivery under the store's
  write lock before answering: its acknowledgement cannot come before the delivery is applied,
  so we time, for the same deliveries, send → applied (read from the store's reviews table).
Reads (`GET /stats`, `POST /sql`, `GET /jobs/{id}`) are timed while the job runs.

Review tasks are rows written straight into the store for the bench (no Label Studio needed);
the payloads are Label Studio's annotation webhook format, as tests/annotation/test_review.py sends them.
Nothing here is asserted; timings depend on the machine (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import service_fixture  # noqa: E402  (the tests' way of starting `curator serve`)

WORDS = [f"w{i}" for i in range(5000)]


def corpus(path: Path, docs: int, words: int, seed: int = 1) -> None:
    """Documents of random words; every 50th is a light edit of the one before (near-duplicates)."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        previous: list[str] = []
        for i in range(docs):
            if i % 50 == 1 and previous:
                text = previous[:]
                text[rng.randrange(len(text))] = rng.choice(WORDS)
            else:
                text = rng.choices(WORDS, k=words)
            previous = text
            f.write(orjson.dumps({"text": " ".join(text)}) + b"\n")


def examples(path: Path, n: int) -> None:
    with open(path, "wb") as f:
        for i in range(n):
            f.write(orjson.dumps({"instruction": f"Question {i}: how do I reset item {i}?",
                                  "output": f"Open settings {i}, choose reset, confirm."}) + b"\n")


def plant_tasks(db: str, n: int) -> list[tuple[int, str]]:
    """Review tasks for the first n examples, as `review push` would record them."""
    with duckdb.connect(db) as conn:
        conn.execute("INSERT INTO review_projects (ls_project_id, role, title, config_hash) VALUES "
                     "(1, 'review', 'bench', 'x')")
        rows = conn.execute("SELECT id, messages->>'$[-1].content' FROM examples ORDER BY id LIMIT ?", [n]).fetchall()
        conn.executemany("INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft) VALUES (?, 1, ?, ?)",
                         [(eid, 1000 + eid, draft) for eid, draft in rows])
        conn.execute("UPDATE examples SET status = 'in_review' WHERE id IN (SELECT example_id FROM review_tasks)")
    return [(1000 + eid, draft) for eid, draft in rows]


def payload(i: int, task_id: int, draft: str) -> dict:
    verdict = ("accept", "edit", "reject")[i % 3]
    text = draft + f" (checked {i})" if verdict == "edit" else draft
    item = lambda name, kind, value: {"from_name": name, "to_name": "source", "type": kind, "value": value}  # noqa: E731
    result = [item("response", "textarea", {"text": [text]}), item("verdict", "choices", {"choices": [verdict]}),
              item("correctness", "rating", {"rating": 1 + i % 5}), item("style", "rating", {"rating": 1 + i % 5})]
    if verdict == "reject":
        result.append(item("reasons", "choices", {"choices": ["other"]}))
    return {"action": "ANNOTATION_CREATED", "task": {"id": task_id},
            "annotation": {"id": 70_000_000 + i, "task": task_id, "completed_by": 1, "lead_time": 3.0,
                           "result": result}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000


def _during(job: dict, sent_at: dict[int, float], acked_at: dict[int, float]) -> list[int]:
    """Deliveries sent after the job started and answered before it finished."""
    from datetime import datetime

    if not job.get("started_at") or not job.get("finished_at"):
        return []
    start, end = (datetime.fromisoformat(job[k]).timestamp() for k in ("started_at", "finished_at"))
    return [i for i in acked_at if sent_at[i] >= start and acked_at[i] <= end]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=250_000,
                    help="documents to deduplicate: at 1,000 words the job outlasts 1,000 deliveries")
    ap.add_argument("--words", type=int, default=1000, help="words per document (the planted dedup corpus averages ~1,100)")
    ap.add_argument("--deliveries", type=int, default=1000)
    ap.add_argument("--senders", type=int, default=1,
                    help="concurrent senders, each posting its next delivery when the last is answered (Label "
                         "Studio sends one webhook per saved annotation); more measures queueing at saturation")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--idle", action="store_true",
                    help="no job: the same deliveries and reads against an idle service (the reference)")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="curator-bench-service-"))
    work.mkdir(parents=True, exist_ok=True)
    secret = "bench-secret"
    env = dict(os.environ, CURATOR_DB=str(work / "c.duckdb"), CURATOR_STATE_DIR=str(work / "state"),
               CURATOR_WEBHOOK_SECRET=secret, CURATOR_REVIEW_PULL_INTERVAL="0", HF_HUB_OFFLINE="1")
    for stale in (work / "c.duckdb", work / "c.duckdb.wal"):
        stale.unlink(missing_ok=True)
    corpus(work / "docs.jsonl", args.docs, args.words)
    examples(work / "examples.jsonl", 200)
    import subprocess

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curator", "ingest", str(work / "docs.jsonl"), str(work / "examples.jsonl")],
                   env=env, check=True, capture_output=True)
    print(f"ingested {args.docs:,} documents ({(work / 'docs.jsonl').stat().st_size / 1e6:.0f} MB) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    tasks = plant_tasks(env["CURATOR_DB"], 200)
    payloads = [payload(i, *tasks[i % len(tasks)]) for i in range(args.deliveries)]

    served = service_fixture.start(env)
    token = json.loads(Path(env["CURATOR_DB"] + ".service.json").read_text())["token"]
    acks: dict[int, float] = {}
    acked_at: dict[int, float] = {}
    sent_at: dict[int, float] = {}
    reads: dict[str, list[float]] = {"GET /stats": [], "POST /sql": [], "GET /jobs/{id}": []}
    try:
        with served.client(token) as client:
            job = {"id": 0} if args.idle else client.post(
                "/dedup", json={"target": "documents"}, headers={"Prefer": "respond-async"}).json()
            while not args.idle and client.get(f"/jobs/{job['id']}").json()["status"] == "queued":
                time.sleep(0.01)
        running = threading.Event()
        running.set()

        hooks = threading.local()  # one client per sender (building one costs an SSL context: not timed)

        def deliver(i: int) -> None:
            if not hasattr(hooks, "client"):
                hooks.client = served.client(timeout=30)
            body = orjson.dumps(payloads[i])
            sent_at[i] = time.time()
            start = time.perf_counter()
            # A new connection per delivery, as Label Studio's requests.post makes one.
            response = hooks.client.post("/webhooks/label-studio", content=body, headers={
                "X-Curator-Webhook-Secret": secret, "Content-Type": "application/json", "Connection": "close"})
            acks[i] = time.perf_counter() - start
            acked_at[i] = time.time()
            assert response.status_code == 202, response.text

        def read_loop() -> None:
            with served.client(token, timeout=30) as client:
                while running.is_set():
                    for name, call in (("GET /stats", lambda: client.get("/stats")),
                                       ("POST /sql", lambda: client.post("/sql", json={
                                           "sql": "SELECT kind, count(*) FROM documents GROUP BY kind"})),
                                       ("GET /jobs/{id}", lambda: client.get("/jobs" if args.idle else f"/jobs/{job['id']}"))):
                        start = time.perf_counter()
                        assert call().status_code == 200
                        reads[name].append(time.perf_counter() - start)
                    time.sleep(0.05)

        reader = threading.Thread(target=read_loop)
        reader.start()
        t_send = time.perf_counter()
        with ThreadPoolExecutor(args.senders) as pool:
            list(pool.map(deliver, range(args.deliveries)))
        send_s = time.perf_counter() - t_send
        with served.client(token) as client:
            still = "absent (--idle)" if args.idle else client.get(f"/jobs/{job['id']}").json()["status"]
            while not args.idle and client.get(f"/jobs/{job['id']}").json()["status"] == "running":
                time.sleep(0.05)
            running.clear()
            reader.join()
            done = {"status": "not run (--idle)", "result": None} if args.idle else client.get(f"/jobs/{job['id']}").json()
            while client.get("/webhooks/inbox").json()["pending"]:
                time.sleep(0.05)
    finally:
        served.stop()
    with duckdb.connect(env["CURATOR_DB"], read_only=True) as conn:  # every row: POST /sql caps its answers
        applied = conn.execute("SELECT ls_annotation_id, epoch(recorded_at) FROM reviews").fetchall()
    recorded = {int(a) - 70_000_000: float(t) for a, t in applied}
    lost = args.deliveries - len(recorded)
    duplicated = len(applied) - len(recorded)
    applied_latency = [recorded[i] - sent_at[i] for i in recorded]
    stages = (done["result"] or {}).get("seconds", {})
    print(f"\nload average {os.getloadavg()[0]:.2f}; dedup job of {args.docs:,} documents {done['status']}: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    print(f"{args.deliveries} deliveries from {args.senders} senders in {send_s:.1f} s, while the job was {still}: "
          f"lost {lost}, duplicated {duplicated}")
    during = _during(done, sent_at, acked_at)
    print(f"{len(during)} of them sent and acknowledged while the job ran (the rows 'while the job ran')")
    print(f"{'':34}{'median ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for label, keys in (("webhook ack (ours), all", list(acks)), ("webhook ack (ours), while the job ran", during)):
        values = [acks[i] for i in keys]
        if values:
            print(f"{label:34}{pct(values, 50):10.1f}{pct(values, 95):10.1f}{pct(values, 99):10.1f}")
    print(f"{'send → applied (baseline)':34}{pct(applied_latency, 50):10.1f}{pct(applied_latency, 95):10.1f}"
          f"{pct(applied_latency, 99):10.1f}")
    print(f"ratio baseline/ours at p99: {pct(applied_latency, 99) / pct(list(acks.values()), 99):.0f}x")
    for name, values in reads.items():
        print(f"{name + ' during the job':34}{pct(values, 50):10.1f}{pct(values, 95):10.1f}{pct(values, 99):10.1f}"
              f"   ({len(values)} calls)")


if __name__ == "__main__":
    main()
