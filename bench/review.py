"""Review throughput against a real local Label Studio: push (tasks/s) and pull (annotations/s),
ours against the one-call-per-item way, side by side.

    python bench/review.py                 # 10,000 examples, 3 repeats (~6 minutes on 2 cores)
    python bench/review.py --n 2000 --repeats 1 --json

- push, ours: ``annotation.push.push`` (batches of 1,000 tasks with predictions, one import call
  and one store transaction per batch). baseline: one import call and one commit per example,
  on the first ``--baseline-n`` examples.
- pull, ours: ``annotation.pull.pull`` (one export snapshot of the project, every annotation
  recorded and outcomes decided in one transaction). baseline: per task
  ``GET /api/tasks/{id}/annotations`` (the SDK's ``annotations.list``) and one commit per
  annotation, on the first ``--baseline-n`` tasks. The annotations are imported with their tasks
  (creating 10,000 through the API would take ~50 minutes here), so both sides
  read the same annotations.
Every repeat works on a fresh copy of the store; medians are reported. Label Studio is started
from the cached template (``annotation.server``), as the test fixture does.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation import server  # noqa: E402
from annotation.client import LabelStudio  # noqa: E402
from annotation.parse import parse_annotation  # noqa: E402
from annotation.pull import pull  # noqa: E402
from annotation.push import push, task_for  # noqa: E402
from annotation.record import Recorder  # noqa: E402
from annotation.selection import Selection, select_candidates  # noqa: E402
from annotation.setup import setup_projects  # noqa: E402
from curator.config import Settings  # noqa: E402
from curator.sqlfiles import query  # noqa: E402
from curator.store import open_store, transaction  # noqa: E402

CREDS = server.Credentials(token="curator-bench-token")


def seed(db: Path, n: int) -> None:
    """n examples over n/100 documents, each with an evidence span (untimed)."""
    conn = open_store(db)
    with transaction(conn):
        conn.execute("INSERT INTO sources (name) VALUES ('bench')")
        conn.execute("INSERT INTO ingest_batches (actor, options) VALUES ('bench', '{}')")
        conn.execute("INSERT INTO files (source_id, batch_id, path, sha256, n_bytes, format, documents, examples, "
                     "duplicates, rejects) VALUES (1, 1, 'bench', 'x', 0, 'text', 0, 0, 0, 0)")
        for d in range(max(1, n // 100)):
            text = " ".join(f"clause {d}.{k}: the receiving party keeps the information confidential." for k in range(40))
            conn.execute("INSERT INTO documents (source_id, batch_id, file_id, origin, kind, text, text_hash, n_chars, "
                         "n_words, metadata) VALUES (1, 1, 1, ?, 'document', ?, ?, ?, ?, '{}')",
                         [f"bench:{d}", text, f"h{d}", len(text), len(text.split())])
        conn.execute("""
            INSERT INTO examples (source_id, origin, kind, messages, content_hash, document_id, span_start, span_end,
                                  warnings, metadata)
            SELECT 1, 'bench:' || i, 'synthetic',
                   json_array(json_object('role', 'user', 'content', 'What must the receiving party do? #' || i),
                              json_object('role', 'assistant', 'content', 'Keep the information confidential (' || i || ').')),
                   'c' || i, 1 + i % ?, 10, 70, '[]', '{}'
            FROM range(?) t(i)""", [max(1, n // 100), n])
    conn.close()


def settings_for(db: Path, ls: server.Server, title: str) -> Settings:
    return Settings(db=db, label_studio_url=ls.url, label_studio_token=ls.token, label_studio_project=title,
                    review_webhook_url="http://127.0.0.1:9/unused", review_pull_interval=0)


def push_ours(db: Path, ls: server.Server, title: str) -> tuple[float, int]:
    settings = settings_for(db, ls, title)
    conn = open_store(db)
    with LabelStudio(ls.url, ls.token) as client:
        setup_projects(conn, client, settings, "bench")
        start = time.perf_counter()
        report = push(conn, client, "bench")
        return time.perf_counter() - start, report.pushed


def push_baseline(db: Path, ls: server.Server, title: str, n: int) -> tuple[float, int]:
    settings = settings_for(db, ls, title)
    conn = open_store(db)
    with LabelStudio(ls.url, ls.token) as client:
        project = setup_projects(conn, client, settings, "bench")["review"]["ls_project_id"]
        candidates = select_candidates(conn, project, Selection(limit=n))[0]
        start = time.perf_counter()
        for row in candidates:
            task, turns = task_for(row)
            (task_id,) = client.import_tasks(project, [task])["task_ids"]
            with transaction(conn):
                conn.execute(query("review.insert_task"), {"example_id": row["id"], "ls_project_id": project,
                                                           "ls_task_id": task_id, "draft": turns[-1]["text"],
                                                           "turns": orjson.dumps(turns).decode(), "overlap": 1})
                conn.execute(query("review.mark_in_review"), {"id": row["id"]})
        return time.perf_counter() - start, len(candidates)


def annotated_store(db: Path, ls: server.Server, title: str) -> None:
    """Tasks for every example, each imported with one annotation (untimed)."""
    settings = settings_for(db, ls, title)
    conn = open_store(db)
    with LabelStudio(ls.url, ls.token) as client:
        project = setup_projects(conn, client, settings, "bench")["review"]["ls_project_id"]
        candidates = select_candidates(conn, project, Selection())[0]
        for start in range(0, len(candidates), 1000):
            batch, drafts = [], []
            for i, row in enumerate(candidates[start:start + 1000], start):
                task, turns = task_for(row)
                draft = turns[-1]["text"]
                verdict = ("accept", "edit", "reject")[i % 3]
                task["annotations"] = [{"result": [
                    {"from_name": "verdict", "to_name": "source", "type": "choices", "value": {"choices": [verdict]}},
                    {"from_name": f"turn_{len(turns) - 1}", "to_name": "prompt", "type": "textarea",
                     "value": {"text": [draft + (" Edited." if verdict == "edit" else "")]}},
                    {"from_name": "correctness", "to_name": "source", "type": "rating", "value": {"rating": 1 + i % 5}}]}]
                batch.append(task)
                drafts.append((row["id"], turns))
            ids = client.import_tasks(project, batch)["task_ids"]
            with transaction(conn):
                for (example_id, turns), task_id in zip(drafts, ids):
                    conn.execute(query("review.insert_task"), {"example_id": example_id, "ls_project_id": project,
                                                               "ls_task_id": task_id, "draft": turns[-1]["text"],
                                                               "turns": orjson.dumps(turns).decode(), "overlap": 1})
                    conn.execute(query("review.mark_in_review"), {"id": example_id})
    conn.close()


def pull_ours(db: Path, ls: server.Server) -> tuple[float, int]:
    conn = open_store(db)
    with LabelStudio(ls.url, ls.token) as client:
        start = time.perf_counter()
        report = pull(conn, client, "bench", 0.9)
        return time.perf_counter() - start, report.recorded


def pull_baseline(db: Path, ls: server.Server, n: int) -> tuple[float, int]:
    from annotation.outcomes import recompute

    conn = open_store(db)
    tasks = conn.execute("SELECT ls_task_id FROM review_tasks ORDER BY ls_task_id LIMIT ?", [n]).fetchall()
    recorded = 0
    with LabelStudio(ls.url, ls.token) as client:
        start = time.perf_counter()
        for (task_id,) in tasks:
            for ann in client.annotations(task_id):
                review = parse_annotation(ann, task_id=task_id)
                with transaction(conn):
                    recorder = Recorder(conn, "pull", task_ids=[task_id], annotation_ids=[review.ls_annotation_id])
                    example = recorder.annotation(review)
                    recorder.flush()
                    if example is not None:
                        recompute(conn, [example], 0.9)
                        recorded += 1
        return time.perf_counter() - start, recorded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--baseline-n", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    cache = Path.home() / ".cache" / "curator"
    venv = server.ensure_venv()
    template = server.init_data_dir(venv, cache / f"label-studio-template-{server.VERSION}-{CREDS.token}", CREDS)
    work = Path(tempfile.mkdtemp(prefix="bench-review-"))
    ls = server.start(venv, server.copy_template(template, work / "ls"), CREDS)
    results: dict[str, list[float]] = {k: [] for k in ("push_ours", "push_baseline", "pull_ours", "pull_baseline")}
    try:
        base = work / "seed.duckdb"
        seed(base, args.n)
        for r in range(args.repeats):
            for side in ("ours", "baseline"):
                db = work / f"push-{side}-{r}.duckdb"
                shutil.copy(base, db)
                took, count = (push_ours(db, ls, f"bench push ours {r}") if side == "ours"
                               else push_baseline(db, ls, f"bench push baseline {r}", args.baseline_n))
                results[f"push_{side}"].append(count / took)
                print(f"push {side} repeat {r}: {count} tasks in {took:.2f} s = {count / took:.0f} tasks/s",
                      file=sys.stderr)
        annotated = work / "annotated.duckdb"
        shutil.copy(base, annotated)
        annotated_store(annotated, ls, "bench pull")
        for r in range(args.repeats):
            for side in ("ours", "baseline"):
                db = work / f"pull-{side}-{r}.duckdb"
                shutil.copy(annotated, db)
                took, count = pull_ours(db, ls) if side == "ours" else pull_baseline(db, ls, args.baseline_n)
                results[f"pull_{side}"].append(count / took)
                print(f"pull {side} repeat {r}: {count} annotations in {took:.2f} s = {count / took:.0f}/s",
                      file=sys.stderr)
    finally:
        ls.stop()
        shutil.rmtree(work, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in results.items()}
    summary = {"n": args.n, "baseline_n": args.baseline_n, "repeats": args.repeats,
               "median_per_s": {k: round(v, 1) for k, v in medians.items()},
               "push_ratio": round(medians["push_ours"] / medians["push_baseline"], 1),
               "pull_ratio": round(medians["pull_ours"] / medians["pull_baseline"], 1)}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"push: ours {medians['push_ours']:.0f} tasks/s ({args.n}), baseline {medians['push_baseline']:.0f} "
          f"tasks/s ({args.baseline_n}), ratio {summary['push_ratio']}x")
    print(f"pull: ours {medians['pull_ours']:.0f} annotations/s ({args.n}), baseline {medians['pull_baseline']:.0f}"
          f" annotations/s ({args.baseline_n}), ratio {summary['pull_ratio']}x")


if __name__ == "__main__":
    main()
