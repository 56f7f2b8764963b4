"""Latency of the stats endpoints with a million examples in the store, through the real
service: the naive path (every call recomputes lengths from the messages JSON, and a version's
report from its items) against ours (lengths cached per example, a version's report computed
once), side by side in one run.

    python bench/stats.py                      # 1M examples, 200k-item version; ~3 minutes on 2 cores
    python bench/stats.py --examples 100000    # a quick look
    python bench/stats.py --workdir /tmp/sb    # keep the generated store and reuse it next time
    python bench/stats.py --json               # machine-readable

The store is generated in SQL (``range()``): examples over 5 sources and 3 kinds with a system,
a user and an assistant message of varied lengths, statuses, 10 generation runs, two reviews per
example for 2.5 % of them by 10 reviewers, a dedup run marking 1 %, documents and rejects, and one
version holding 200k approved examples. Each side runs `curator serve` on 127.0.0.1 (baseline:
``CURATOR_STATS_CACHE=false``); the first call of each endpoint is reported apart (it fills the
caches on ours), then every endpoint is called ``--repeats`` times in turn over one keep-alive
connection. Medians and p95 in milliseconds; ratio = baseline median / ours median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import service_fixture  # noqa: E402  (the tests' way of starting `curator serve`)

from curator.keys import create_key
from curator.store import open_store

ENDPOINTS = ["/stats", "/stats/report", "/stats/lengths", "/stats/reviews", "/stats/versions",
             "/stats/report?version=bench@1", "/stats/lengths?version=bench@1", "/"]


def generate(db: Path, n: int, version_items: int) -> str:
    """Fill a fresh store with ``n`` examples and the rows around them; return a steward key."""
    conn = open_store(db)
    started = time.perf_counter()
    conn.execute(f"""
        INSERT INTO sources (id, name) SELECT i, 'source-' || i FROM range(1, 6) t(i);
        INSERT INTO ingest_batches (id, actor, options) VALUES (1, 'bench', '{{}}');
        INSERT INTO files (id, source_id, batch_id, path, sha256, n_bytes, format, documents, examples, duplicates,
                           rejects) VALUES (1, 1, 1, 'bench', 'x', 0, 'jsonl', 0, 0, 0, 0);
        INSERT INTO documents (id, source_id, batch_id, file_id, origin, kind, text, text_hash, n_chars, n_words,
                               metadata)
        SELECT i, 1 + i % 5, 1, 1, 'bench:' || i, 'document', 'doc ' || i, 'd' || i, 8, 2, '{{}}'
        FROM range(1, 10001) t(i);
        INSERT INTO rejects (source_id, batch_id, file_id, origin, code, reason)
        SELECT 1 + i % 5, 1, 1, 'bench:' || i, ['malformed_json', 'invalid_utf8', 'too_large'][1 + i % 3], 'bench'
        FROM range(1000) t(i);
        INSERT INTO generation_runs (id, base_url, model, params, cost_usd, status)
        SELECT i, 'http://bench', 'gpt-4o-mini', '{{}}', i * 0.75, 'finished' FROM range(1, 11) t(i);
        INSERT INTO examples (id, source_id, origin, kind, messages, content_hash, status, warnings, metadata,
                              generation_run_id)
        SELECT i, 1 + i % 5, 'bench:' || i, ['extracted', 'synthetic', 'imported'][1 + i % 3],
               to_json([{{'role': 'system', 'content': 'You answer customer questions briefly.'}},
                        {{'role': 'user', 'content': repeat('where is my order ', 1 + (hash(i) % 12)::INT)}},
                        {{'role': 'assistant',
                          'content': repeat('Thanks for asking, here is how. ', 1 + (hash(i * 7) % 40)::INT)}}]),
               'h' || i,
               CASE WHEN i % 20 < 11 THEN 'candidate' WHEN i % 20 < 13 THEN 'in_review'
                    WHEN i % 20 < 19 THEN 'approved' ELSE 'rejected' END,
               '[]', '{{}}', CASE WHEN i % 3 = 1 THEN 1 + i % 10 END
        FROM range(1, {n + 1}) t(i);
        INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, received_via, reviewer,
                             verdict, reasons, lead_time, payload_hash)
        SELECT 1 + (i // 2), 1, 1 + (i // 2), i, 'created', 'webhook', 'reviewer' || (i % 10) || '@bench',
               ['accept', 'edit', 'reject'][1 + ((hash(i // 2) % 3)::BIGINT + (i % 2) * (i % 7 = 0)::INT) % 3],
               CASE WHEN hash(i // 2) % 3 = 2 THEN '["off_topic"]' ELSE '[]' END, 30 + i % 300, 'p' || i
        FROM range({n // 20}) t(i);
        INSERT INTO dedup_runs (id, target, params_key, params, engine, actor, counts)
        VALUES (1, 'example', 'bench', '{{}}', 'local', 'bench', '{{}}');
        INSERT INTO dedup_decisions (run_id, target, row_id, cluster_id, decision, duplicate_of, jaccard, rule)
        SELECT 1, 'example', i, i - 1, 'duplicate', i - 1, 0.9, 'bench' FROM range(2, {n + 1}, 100) t(i);
        INSERT INTO dataset_versions (name, number, split_spec, seed, counts, content_hash, created_by)
        VALUES ('bench', 1, '{{"train": 0.8, "validation": 0.1, "test": 0.1}}', 1, '{{}}', 'bench', 'bench');
        INSERT INTO dataset_items (version_id, example_id, split, group_key, messages, example_hash)
        SELECT 1, id, ['train', 'train', 'train', 'train', 'train', 'train', 'train', 'train', 'validation',
                       'test'][1 + id % 10], 'g' || id, messages, content_hash
        FROM examples WHERE status = 'approved' ORDER BY id LIMIT {version_items};
    """)
    key = create_key(conn, "bench", "steward", "bench")
    conn.execute("CHECKPOINT")
    conn.close()
    print(f"generated {n:,} examples in {time.perf_counter() - started:.1f} s "
          f"({db.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    return key


@contextmanager
def serving(db: Path, cache: bool, log: Path):
    """`curator serve` on the store, started and stopped the way the tests do it."""
    env = dict(os.environ, CURATOR_DB=str(db), CURATOR_STATS_CACHE=str(cache).lower(),
               CURATOR_STATE_DIR=str(db.parent / "state"))
    with service_fixture.start(env, timeout=120, log=log) as served:
        yield served.url


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(url: str, key: str, repeats: int) -> dict:
    results = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600) as client:
        for path in ENDPOINTS:
            started = time.perf_counter()
            response = client.get(path)
            response.raise_for_status()
            results[path] = {"first_ms": (time.perf_counter() - started) * 1000, "times": []}
        for _ in range(repeats):
            for path in ENDPOINTS:
                started = time.perf_counter()
                client.get(path).raise_for_status()
                results[path]["times"].append((time.perf_counter() - started) * 1000)
    for r in results.values():
        r["median_ms"] = statistics.median(r["times"])
        r["p95_ms"] = _p95(r["times"])
        del r["times"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--version-items", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=50, help="calls per endpoint, ours")
    parser.add_argument("--baseline-repeats", type=int, default=5, help="calls per endpoint, baseline")
    parser.add_argument("--workdir", type=Path, help="keep the generated store here and reuse it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="curator-bench-stats-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"stats-{args.examples}.duckdb"
    key_file = db.with_suffix(".key")
    try:
        if db.exists() and key_file.exists():
            key = key_file.read_text()
        else:
            for stale in work.glob(f"{db.name}*"):
                stale.unlink()
            key = generate(db, args.examples, args.version_items)
            key_file.write_text(key)
        with serving(db, cache=False, log=work / "baseline.log") as url:
            baseline = measure(url, key, args.baseline_repeats)
        with serving(db, cache=True, log=work / "ours.log") as url:
            ours = measure(url, key, args.repeats)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    rows = [{"endpoint": p, "baseline": baseline[p], "ours": ours[p],
             "ratio": baseline[p]["median_ms"] / ours[p]["median_ms"]} for p in ENDPOINTS]
    meta = {"examples": args.examples, "version_items": args.version_items, "repeats": args.repeats,
            "baseline_repeats": args.baseline_repeats, "machine": platform.platform(), "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps({"settings": meta, "endpoints": rows}, indent=2))
        return
    print(f"stats endpoints, {args.examples:,} examples, version of {args.version_items:,} items, "
          f"{os.cpu_count()} cpus; ms")
    print(f"{'endpoint':34} {'base first':>10} {'base med':>9} {'base p95':>9} {'ours first':>10} "
          f"{'ours med':>9} {'ours p95':>9} {'ratio':>7}")
    for r in rows:
        b, o = r["baseline"], r["ours"]
        print(f"{r['endpoint']:34} {b['first_ms']:10.1f} {b['median_ms']:9.1f} {b['p95_ms']:9.1f} "
              f"{o['first_ms']:10.1f} {o['median_ms']:9.1f} {o['p95_ms']:9.1f} {r['ratio']:6.1f}x")
    worst = max(ours[p]["p95_ms"] for p in ENDPOINTS)
    print(f"ours: worst p95 {worst:.1f} ms (goal < 50 ms)")


if __name__ == "__main__":
    main()
