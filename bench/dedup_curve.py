"""The cost curve of near-duplicate detection: time and peak memory against corpus size, for ours
(local and Ray on this machine) and, where the corpus fits in memory, datasketch's fastest path (b)
and rensa (d), as a table and a log-log PNG. The largest size also gets the incremental run:
1 % new rows added to the deduplicated store, then ``run_dedup`` again.

    python bench/dedup_curve.py                                   # 10k, 100k, 1M planted documents
    python bench/dedup_curve.py --sizes 2000,10000 --png /tmp/c.png   # a smoke run

The planted corpus is the one of ``bench/dedup.py`` (same generator, same families), generated as
a stream: each document is written to one of 64 JSONL files at random as soon as it is drawn,
and the real ingest pipeline reads that folder, so row ids do not follow families and neither
generation nor ingest ever holds all texts in memory. The truth is the exact
Jaccard of Python sets of ``shingles(text)`` for every pair inside a family, computed while the
family is generated; unrelated documents practically never share a 5-word shingle, and a
reported pair outside the families is checked against its texts in the store.

Memory is the peak RSS of this process and every process below it (Ray's raylet and workers),
sampled every 50 ms with psutil, minus nothing: the bench's own baseline is printed beside it.
CPU seconds are this process's (all its threads; not Ray's workers): docs per CPU second is the
per-core rate that other work on a shared machine disturbs least. Generation, ingest and store
copies are not timed. Each figure is printed with the 1-minute load
average at its end, since other work on the machine slows every method alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup as base  # noqa: E402  (bench/dedup.py: the generator, (b), (d), scoring)

from curator.config import get_settings  # noqa: E402
from curator.dedup import DedupParams, run_dedup  # noqa: E402
from curator.dedup import shingles as sh  # noqa: E402
from curator.ingest import IngestOptions  # noqa: E402
from curator.ingest.pipeline import ingest_paths  # noqa: E402
from curator.store import open_store  # noqa: E402

SHARDS = 64


class TreePeak:
    """Peak RSS (MB) of this process and its descendants, sampled on a thread."""

    def __init__(self, every: float = 0.05):
        import psutil

        self.proc, self.every, self.peak = psutil.Process(), every, 0.0
        self._stop = threading.Event()

    def _rss(self) -> float:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # a worker that just exited
                pass
        return total / 2**20

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self.every)

    def __enter__(self) -> "TreePeak":
        self.start = self._rss()
        self.peak = self.start
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


@dataclass
class Corpus:
    docs: int
    jsonl: Path
    mb: float
    truth: dict[tuple[int, int], float]  # every pair inside a family, by document number
    families: int
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def generate(n_docs: int, words: np.ndarray, cdf: np.ndarray, args: argparse.Namespace, out: Path,
             first: int = 0) -> Corpus:
    """``base.plant``'s corpus, one family at a time, straight to shard files (document numbers
    from ``first``)."""
    params = DedupParams(threshold=args.threshold)
    rng = np.random.default_rng(args.seed + n_docs + first)
    shard_rng = np.random.default_rng(args.seed + 7 + first)
    out.mkdir(parents=True, exist_ok=True)
    shards = [open(out / f"part-{k:02d}.jsonl", "wb") for k in range(SHARDS)]
    truth: dict[tuple[int, int], float] = {}
    made, families = 0, 0
    start = time.perf_counter()

    def emit(text: str) -> int:
        nonlocal made
        number = first + made
        shards[int(shard_rng.integers(SHARDS))].write(orjson.dumps({"text": text, "doc": number}) + b"\n")
        made += 1
        return number

    family_p = args.family_share / (3.5 - 2.5 * args.family_share)  # families of 2–5: share of documents
    while made < n_docs:
        size = int(rng.integers(2, 6)) if rng.random() < family_p else 1
        size = min(size, n_docs - made)
        length = int(rng.integers(200, 2001))
        tokens = base._draw(rng, cdf, length)
        cuts = base._breaks(rng, length)
        texts = [base._render(words, base._paragraphs(tokens, cuts, length))]
        for _ in range(size - 1):
            rate = float(rng.uniform(*args.edit_rates))
            paragraphs = base._paragraphs(base._edit(rng, cdf, tokens, rate, args.edit_run), cuts, length)
            if len(paragraphs) > 2 and rng.random() < args.move_p:
                for _ in range(int(rng.integers(1, 3))):
                    moved = paragraphs.pop(int(rng.integers(len(paragraphs))))
                    paragraphs.insert(int(rng.integers(len(paragraphs) + 1)), moved)
            texts.append(base._render(words, paragraphs))
        numbers = [emit(t) for t in texts]
        if size > 1:
            families += 1
            sets = [set(sh.shingles(t, params)) for t in texts]
            for (i, a), (j, b) in combinations(enumerate(numbers), 2):
                truth[(a, b)] = base._jaccard(sets[i], sets[j])
    for handle in shards:
        handle.close()
    mb = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    return Corpus(n_docs, out, mb, truth, families, time.perf_counter() - start)


def ingest(db: Path, corpus: Corpus) -> dict:
    conn = open_store(db)
    try:
        start = time.perf_counter()
        report = ingest_paths(conn, [corpus.jsonl], opts=IngestOptions(format="text"), actor="bench",
                              workers=get_settings().workers)
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    return {"seconds": round(seconds, 2), "mb_per_s": round(corpus.mb / seconds, 1),
            "load_1m": round(os.getloadavg()[0], 2), **{k: v for k, v in report.summary().items()
                                                         if k in ("documents_added", "duplicates_skipped")}}


def _labels(conn) -> dict[int, int]:
    return dict(conn.execute("SELECT id, CAST(json_extract(metadata, '$.doc') AS BIGINT) FROM documents").fetchall())


def _score(found: set[tuple[int, int]], truth: dict, threshold: float, texts_of) -> dict:
    """Precision and recall against the family truth; a found pair outside it is judged on its texts."""
    positive = {p for p, j in truth.items() if j >= threshold}
    outside = [p for p in found if p not in truth]
    params = DedupParams(threshold=threshold)
    if outside:
        texts = texts_of(outside)
        for a, b in outside:
            truth[(a, b)] = base._jaccard(set(sh.shingles(texts[a], params)), set(sh.shingles(texts[b], params)))
            if truth[(a, b)] >= threshold:
                positive.add((a, b))
    hits = found & positive
    return {"reported": len(found), "true_pairs": len(positive),
            "precision": round(len(hits) / len(found), 6) if found else 1.0,
            "recall": round(len(hits) / len(positive), 6) if positive else 1.0}


def run_store(db: Path, engine: str, params: DedupParams) -> tuple[dict, set, float, float]:
    """``run_dedup`` on the store: (report, found pairs by document number, seconds, peak tree RSS)."""
    conn = open_store(db)
    try:
        with TreePeak() as peak:
            start, cpu = time.perf_counter(), time.process_time()
            report = run_dedup(conn, "documents", params, actor="bench", engine=engine)
            seconds = time.perf_counter() - start
        peak.cpu = time.process_time() - cpu  # this process, all its threads (not Ray's workers)
        label_of = _labels(conn)
        found = {tuple(sorted((label_of[a], label_of[b]))) for a, b in conn.execute(
            "SELECT a_id, b_id FROM dedup_pairs WHERE params_key = ? AND jaccard >= ? AND NOT estimated",
            [params.key, params.threshold]).fetchall()}
    finally:
        conn.close()
    return report.as_dict(), found, seconds, peak


def _texts_of(db: Path):
    def read(pairs: list[tuple[int, int]]) -> dict[int, str]:
        wanted = sorted({n for p in pairs for n in p})
        conn = open_store(db)
        try:
            rows = conn.execute("SELECT CAST(json_extract(metadata, '$.doc') AS BIGINT), text FROM documents "
                                "WHERE CAST(json_extract(metadata, '$.doc') AS BIGINT) IN "
                                "(SELECT unnest(?::BIGINT[]))", [wanted]).fetchall()
        finally:
            conn.close()
        return dict(rows)
    return read


def ours(label: str, db: Path, workdir: Path, corpus: Corpus, engine: str, params: DedupParams, repeats: int) -> dict:
    runs = []
    for r in range(repeats):
        copy = workdir / f"{label}-{engine}.duckdb"
        base._remove(copy)
        shutil.copyfile(db, copy)
        if engine == "ray":
            _ray_start()
        report, found, seconds, peak = run_store(copy, engine, params)
        if engine == "ray":
            _ray_stop()
        runs.append({"seconds": round(seconds, 2), "cpu_seconds": round(peak.cpu, 2), "peak_rss_mb": round(peak.peak), "start_rss_mb": round(peak.start),
                     "load_1m": round(os.getloadavg()[0], 2), "report": report,
                     **_score(found, corpus.truth, params.threshold, _texts_of(copy))})
        print(f"  {label} ours-{engine} repeat {r + 1}: {seconds:.1f} s, peak {peak.peak:,.0f} MB, "
              f"recall {runs[-1]['recall']:.4f}, precision {runs[-1]['precision']:.4f}, load {runs[-1]['load_1m']}",
              file=sys.stderr, flush=True)
        if r < repeats - 1 or engine == "ray":
            base._remove(copy)
    best = sorted(runs, key=lambda x: x["seconds"])[(len(runs) - 1) // 2]
    return {**best, "repeats": [x["seconds"] for x in runs], "loads": [x["load_1m"] for x in runs],
            "store": str(workdir / f"{label}-{engine}.duckdb")}


def _ray_start() -> None:
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")


def _ray_stop() -> None:
    import ray

    ray.shutdown()


def in_memory(label: str, db: Path, corpus: Corpus, params: DedupParams, which: str) -> dict:
    """(b) or (d) of bench/dedup.py on the store's texts, read untimed (they must fit in memory)."""
    texts = base.read_texts(db, "documents")
    with TreePeak() as peak:
        cpu = time.process_time()
        if which == "b":
            run = base.run_fastest(texts.strings, texts.ids.tolist(), params, "xxh32")
        else:
            run = base.run_rensa(texts.arrow, texts.ids, params)
        cpu = time.process_time() - cpu
    found = base.relabel(run.pairs, texts.ids, texts.label)
    del texts
    out = {"seconds": round(run.seconds, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak.peak), "start_rss_mb": round(peak.start),
           "load_1m": round(os.getloadavg()[0], 2), "stages": {k: round(v, 2) for k, v in run.stages.items()},
           **_score(found, corpus.truth, params.threshold, _texts_of(db))}
    print(f"  {label} ({which}) {out['seconds']:.1f} s, peak {out['peak_rss_mb']:,} MB, recall {out['recall']:.4f}",
          file=sys.stderr, flush=True)
    return out


def incremental(store: Path, corpus: Corpus, words, cdf, args, params: DedupParams, workdir: Path) -> dict:
    """Add ``args.incremental`` × docs new rows (a planted stream of their own, so new families,
    plus edited copies of stored rows, so new rows pair with old ones) and run ``run_dedup`` again."""
    n_new = max(10, int(corpus.docs * args.incremental))
    fresh = generate(n_new - n_new // 4, words, cdf, args, workdir / "new-jsonl", first=corpus.docs)
    rng = np.random.default_rng(args.seed + 99)
    conn = open_store(store)
    try:
        olds = rng.choice(corpus.docs, n_new // 4, replace=False).tolist()
        rows = conn.execute("SELECT CAST(json_extract(metadata, '$.doc') AS BIGINT), text FROM documents WHERE "
                            "CAST(json_extract(metadata, '$.doc') AS BIGINT) IN (SELECT unnest(?::BIGINT[]))",
                            [olds]).fetchall()
    finally:
        conn.close()
    truth = dict(fresh.truth)
    with open(fresh.jsonl / "copies.jsonl", "wb") as handle:
        for k, (old, text) in enumerate(rows):
            tokens = text.split()
            for _ in range(max(1, len(tokens) // 40)):  # ~2.5 % of the words replaced
                tokens[int(rng.integers(len(tokens)))] = str(words[int(rng.integers(len(words)))])
            copy = " ".join(tokens)
            number = corpus.docs + fresh.docs + k
            handle.write(orjson.dumps({"text": copy, "doc": number}) + b"\n")
            truth[(old, number)] = base._jaccard(set(sh.shingles(text, params)), set(sh.shingles(copy, params)))
    conn = open_store(store)
    try:
        before = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        ingest_paths(conn, [fresh.jsonl], opts=IngestOptions(format="text"), actor="bench")
        added = conn.execute("SELECT count(*) FROM documents").fetchone()[0] - before
    finally:
        conn.close()
    report, found, seconds, peak = run_store(store, "local", params)
    new_found = {p for p in found if p[1] >= corpus.docs}
    return {"rows_added": added, "seconds": round(seconds, 2), "peak_rss_mb": round(peak.peak),
            "load_1m": round(os.getloadavg()[0], 2), "report": report,
            **_score(new_found, truth, params.threshold, _texts_of(store))}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for impl in sorted({r["impl"] for r in rows}):
        mine = sorted((r for r in rows if r["impl"] == impl), key=lambda r: r["docs"])
        xs = [r["docs"] for r in mine]
        left.plot(xs, [r["seconds"] for r in mine], marker="o", label=impl)
        right.plot(xs, [r["peak_rss_mb"] / 1024 for r in mine], marker="o", label=impl)
    for ax, title, unit in ((left, "end-to-end time", "seconds"), (right, "peak RSS (process tree)", "GiB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("planted documents")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"near-duplicate detection cost curve ({os.cpu_count()} cores, threshold 0.8, 128 permutations)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=1, help="repeats of ours (local) per size; medians")
    parser.add_argument("--repeat-max", type=int, default=100_000, help="larger sizes run ours once")
    parser.add_argument("--ray-max", type=int, default=100_000, help="largest size Ray runs on")
    parser.add_argument("--memory-max", type=int, default=100_000, help="largest size (b) and (d) run on")
    parser.add_argument("--incremental", type=float, default=0.01, help="share of new rows on the largest size")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--family-share", type=float, default=0.3)
    parser.add_argument("--edit-rates", default="0.05,0.15")
    parser.add_argument("--edit-run", type=float, default=8.0)
    parser.add_argument("--move-p", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--shared-data", type=Path, default=base.SHARED_DATA)
    parser.add_argument("--workdir", type=Path, help="where corpora and stores go (default: a temp dir, removed)")
    parser.add_argument("--png", type=Path, default=Path("dedup_curve.png"))
    parser.add_argument("--save", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--merge", type=Path, action="append", default=[],
                        help="also table and plot the rows of an earlier --save (e.g. other sizes)")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.edit_rates = tuple(float(x) for x in args.edit_rates.split(","))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    temp = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="curator-bench-curve-")) if temp else args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    params = DedupParams(threshold=args.threshold)
    rows, results = [], {"sizes": {}}
    try:
        base.warm_up(workdir)
        words, cdf = base.vocabulary(args.shared_data)
        for n in args.sizes:
            label = base._label(n)
            corpus = generate(n, words, cdf, args, workdir / f"{label}-jsonl")
            db = workdir / f"{label}.duckdb"
            base._remove(db)
            ingested = ingest(db, corpus)
            shutil.rmtree(corpus.jsonl)
            print(f"{label}: {n:,} docs, {corpus.mb:,.0f} MB JSONL, {corpus.families:,} families, generated in "
                  f"{corpus.seconds:.0f} s; ingested at {ingested['mb_per_s']} MB/s (untimed here)", file=sys.stderr)
            size = {"docs": n, "mb": round(corpus.mb), "families": corpus.families, "ingest": ingested,
                    "family_pairs_at_threshold": sum(j >= args.threshold for j in corpus.truth.values())}
            size["ours-local"] = ours(label, db, workdir, corpus, "local", params,
                                      args.repeats if n <= args.repeat_max else 1)
            if n <= args.ray_max:
                size["ours-ray"] = ours(label, db, workdir, corpus, "ray", params, 1)
            if n <= args.memory_max:
                size["(b) datasketch"] = in_memory(label, db, corpus, params, "b")
                size["(d) rensa"] = in_memory(label, db, corpus, params, "d")
            if n == max(args.sizes) and args.incremental > 0:
                size["incremental"] = incremental(Path(size["ours-local"]["store"]), corpus, words, cdf, args,
                                                  params, workdir)
            base._remove(Path(size["ours-local"]["store"]))
            base._remove(db)
            results["sizes"][label] = size
            for impl in ("ours-local", "ours-ray", "(b) datasketch", "(d) rensa"):
                if impl in size:
                    rows.append({"docs": n, "impl": impl, **{k: size[impl][k] for k in (
                        "seconds", "cpu_seconds", "peak_rss_mb", "recall", "precision", "load_1m")}})
    finally:
        if temp:
            shutil.rmtree(workdir, ignore_errors=True)
    for earlier in args.merge:
        rows += json.loads(earlier.read_text())["rows"]
    rows.sort(key=lambda r: (r["docs"], r["impl"]))
    results["rows"] = rows
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cost curve, {os.cpu_count()} cores (peak RSS: process tree, sampled)")
    for col in ("docs", "impl", "seconds", "docs/s", "docs/s/core", "CPU s", "docs/CPU s", "peak RSS MB", "recall",
                "precision", "load 1m"):
        table.add_column(col, justify="left" if col == "impl" else "right")
    for r in rows:
        table.add_row(f"{r['docs']:,}", r["impl"], f"{r['seconds']:.2f}", f"{r['docs'] / r['seconds']:,.0f}",
                      f"{r['docs'] / r['seconds'] / os.cpu_count():,.0f}", f"{r['cpu_seconds']:.1f}" if r.get("cpu_seconds") else "—",
                      f"{r['docs'] / r['cpu_seconds']:,.0f}" if r.get("cpu_seconds") else "—", f"{r['peak_rss_mb']:,}",
                      *(f"{r[k]:.{d}f}" if r.get(k) is not None else "—" for k, d in (
                          ("recall", 4), ("precision", 4), ("load_1m", 2))))
    console = Console(width=160)
    console.print(table)
    for label, size in results["sizes"].items():
        if "incremental" in size:
            inc = size["incremental"]
            console.print(f"{label} + {inc['rows_added']:,} new rows: {inc['seconds']:.2f} s, rows hashed "
                          f"{inc['report']['rows_hashed']:,}, pairs verified {inc['report']['verified_pairs']:,}, "
                          f"stages {inc['report']['seconds']}; new pairs: recall {inc['recall']:.4f}, precision "
                          f"{inc['precision']:.4f}; peak {inc['peak_rss_mb']:,} MB; load {inc['load_1m']}")
        local = size["ours-local"]
        console.print(f"{label}: ours local stages {local['report']['seconds']}, candidates "
                      f"{local['report']['candidate_pairs']:,}, verified {local['report']['verified_pairs']:,}, "
                      f"skipped {local['report']['skipped_pairs']:,}; repeats {local['repeats']} (load {local['loads']})")
    console.print(f"load average at the end {results['load_average']}")
    plot(rows, args.png)
    console.print(f"plot: {args.png}")
    if args.save:
        args.save.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
