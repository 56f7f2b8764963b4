"""Split leakage and speed: grouped hash splits ("ours", ``curator.versions.create_version``)
against the per-example shuffle people write first ("baseline": ``random.shuffle`` of the
approved examples, cut 80/10/10), side by side on the same store.

    python bench/versions.py                 # full MTS-Dialog: note + turn examples, 3 repeats
    python bench/versions.py --repeats 1 --json

The store is built once with the real CLI (ingest, candidates extract note and turns, dedup),
every example approved in SQL as review would. For each side the bench reports the median time
to assign splits (ours: the whole ``version create`` transaction, with hashing and the insert;
baseline: the shuffle alone), and what leaks across splits: source documents (visits) whose
examples straddle splits, near-duplicate pairs (Jaccard ≥ 0.8, the dedup check) and pairs of
responses sharing a word 13-gram (the check approval runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
SHARES = (0.8, 0.1, 0.1)
SPLITS = ("train", "validation", "test")


def build_store(root: Path) -> Path:
    env = dict(os.environ, CURATOR_DB=str(root / "bench.duckdb"), CURATOR_STATE_DIR=str(root / "state"),
               HF_HUB_OFFLINE="1", NO_COLOR="1")
    steps = [["ingest", str(SHARED_DATA / "mts-dialog" / "Main-Dataset")],
             ["candidates", "extract", "--recipe", "note"], ["candidates", "extract", "--recipe", "turns"],
             ["dedup", "--target", "examples"]]
    for step in steps:
        subprocess.run([sys.executable, "-m", "curator", *step], env=env, check=True, capture_output=True)
    import duckdb

    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute("UPDATE examples SET status = 'approved'")
    return Path(env["CURATOR_DB"])


def leaks(conn, items: list[dict], documents: dict[int, int | None]) -> dict:
    from curator.dedup.leakage import cross_pairs
    from curator.versions.overlap import OverlapParams, collect, cross_split_pairs, shared_pairs

    by_split = {s: [i for i in items if i["split"] == s] for s in SPLITS}
    overlap = OverlapParams.from_dict(None)  # responses, no boilerplate: the check before grouping by it
    grams = collect([(i["example_id"], i["messages"]) for i in items], overlap)
    ngram13 = cross_split_pairs(shared_pairs(grams, 1), {i["example_id"]: i["split"] for i in items}, SPLITS, overlap.fields)
    splits_of: dict[int, set[str]] = {}
    for i in items:
        if documents[i["example_id"]] is not None:
            splits_of.setdefault(documents[i["example_id"]], set()).add(i["split"])
    near = sum(len(cross_pairs(conn, "examples", [i["example_id"] for i in by_split[a]],
                               [i["example_id"] for i in by_split[b]]))
               for a, b in combinations(SPLITS, 2))
    return {"examples": len(items), "documents_straddling": sum(len(s) > 1 for s in splits_of.values()),
            "documents": len(splits_of), "near_duplicate_pairs": near, "ngram13_pairs": len(ngram13)}


def baseline_split(pool: list[dict], seed: int) -> list[dict]:
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    cut1, cut2 = int(len(pool) * SHARES[0]), int(len(pool) * (SHARES[0] + SHARES[1]))
    split = {k: ("train" if r < cut1 else "validation" if r < cut2 else "test") for r, k in enumerate(order)}
    return [{"example_id": p["id"], "split": split[k], "messages": p["messages"]} for k, p in enumerate(pool)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from curator.store import connect, rows
    from curator.versions import create_version
    from curator.versions.hashing import verify_version

    with tempfile.TemporaryDirectory(prefix="bench-versions-") as tmp:
        t0 = time.perf_counter()
        db = build_store(Path(tmp))
        build_s = time.perf_counter() - t0
        conn = connect(db)
        pool = [{"id": r["id"], "messages": orjson.loads(r["messages"])}
                for r in rows(conn, "versions.pool", {"ids": [r[0] for r in conn.execute(
                    "SELECT id FROM version_candidates ORDER BY id").fetchall()]})]
        documents = dict(conn.execute("SELECT id, document_id FROM examples").fetchall())
        ours_s, base_s = [], []
        for r in range(args.repeats):
            t = time.perf_counter()
            version = create_version(conn, f"bench{r}", "bench", seed=args.seed)
            ours_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            base_items = baseline_split(pool, args.seed)
            base_s.append(time.perf_counter() - t)
        ours_items = verify_version(conn, version)
        result = {"store_build_s": round(build_s, 1), "repeats": args.repeats,
                  "ours": {"median_s": round(statistics.median(ours_s), 4), **leaks(conn, ours_items, documents)},
                  "baseline": {"median_s": round(statistics.median(base_s), 4), **leaks(conn, base_items, documents)}}
        conn.close()
    o, b = result["ours"], result["baseline"]
    result["time_ratio_ours_over_baseline"] = round(o["median_s"] / max(b["median_s"], 1e-9), 1)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"MTS-Dialog, {o['examples']} approved examples from {o['documents']} visits; store built in "
          f"{result['store_build_s']} s; medians of {args.repeats}")
    print(f"{'':10} {'split time':>12} {'visits straddling':>18} {'near-dup pairs':>15} {'13-gram pairs':>14}")
    for name, r in (("baseline", b), ("ours", o)):
        print(f"{name:10} {r['median_s']:>10.3f} s {r['documents_straddling']:>18} {r['near_duplicate_pairs']:>15} "
              f"{r['ngram13_pairs']:>14}")
    print(f"time ours / baseline: {result['time_ratio_ours_over_baseline']}x (ours includes hashing, grouping and "
          "the store transaction)")


if __name__ == "__main__":
    main()
