"""Ingest throughput: the pipeline ("ours") against the row-by-row way ("baseline"), side by side.

    python bench/ingest.py                  # shared corpora + 200 MB synthetic JSONL, 3 repeats
    python bench/ingest.py --synthetic-mb 50 --repeats 1 --json
    python bench/ingest.py --profile        # also cProfile ours with workers=1 on the prefix

"ours" is ``curator.ingest.pipeline.ingest_paths`` with the settings' workers, chunking and
parallel threshold. "baseline" is what people write first: one process, ``json.loads`` per line
(``csv.DictReader`` / ``json.load`` for the shared tables), the same record-to-row code (so
normalisation and hashes are identical and the comparison isolates the pipeline design), then
``SELECT … WHERE hash = ?`` and ``INSERT … VALUES (?, …)`` per row, one commit per file. Both
write a fresh DuckDB store with the real schema (``open_store``) on every repeat; the time
covers ingest and closing the store. MB are 10^6 bytes of input files. The synthetic corpus is
generated (seeded, untimed) from records of the shared corpora; the baseline runs on its first
``--baseline-mb`` only, and ours runs on that same prefix too, so the ratio compares like with like.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import hashlib
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from curator.config import get_settings
from curator.ingest import IngestOptions
from curator.ingest.pipeline import expand_paths, ingest_paths
from curator.ingest.records import Document, RecordError
from curator.ingest.shapes import record_to_row
from curator.store import open_store, transaction

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPORA = ("aci-bench", "bitext-support", "contractnli", "gpteacher", "mts-dialog")
EXCLUDE = ("*_metadata.csv", "LICENSE*", "SOURCE.txt", "SOURCES.md", "README.md")
MB = 1_000_000
GENERATOR_VERSION = 1
GOAL_MBPS, GOAL_RATIO = 30.0, 10.0
csv.field_size_limit(sys.maxsize)


# --- the synthetic corpus ---------------------------------------------------------------------

@dataclass(frozen=True)
class Seeds:
    pairs: list[tuple[str, str, str]]  # (instruction, input, response)
    contracts: list[tuple[str, str]]  # (file name, text)
    dialogues: list[str]


def load_seeds(shared: Path) -> Seeds:
    pairs: list[tuple[str, str, str]] = []
    for path in sorted((shared / "gpteacher").rglob("*.json")):
        pairs += [(r["instruction"], r.get("input") or "", r["response"])
                  for r in json.loads(path.read_text(encoding="utf-8")) if r.get("instruction") and r.get("response")]
    with open(next((shared / "bitext-support").glob("*.csv")), newline="", encoding="utf-8") as handle:
        pairs += [(r["instruction"], "", r["response"]) for r in csv.DictReader(handle)]
    contracts = []
    for path in sorted((shared / "contractnli").glob("*.json")):
        contracts += [(d["file_name"], d["text"]) for d in json.loads(path.read_text(encoding="utf-8"))["documents"]]
    dialogues = []
    for path in sorted((shared / "aci-bench" / "challenge_data").glob("*.csv")):
        if not path.name.endswith("_metadata.csv"):
            with open(path, newline="", encoding="utf-8") as handle:
                dialogues += [r["dialogue"] for r in csv.DictReader(handle)]
    return Seeds(pairs, contracts, dialogues)


def _swap_words(text: str, rng: random.Random, window: int = 400) -> str:
    """Swap two neighbouring words near the start (a cheap near-duplicate, as templates make)."""
    head, tail = text[:window], text[window:]
    words = head.split(" ")
    if len(words) > 3:
        i = rng.randrange(len(words) - 2)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words) + tail


def _record(seeds: Seeds, rng: random.Random, n: int) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.92:
        instruction, extra, response = rng.choice(seeds.pairs)
        instruction = f"{_swap_words(instruction, rng)} (#{n})"
        if roll < 0.46:
            messages = [{"role": "user", "content": f"{instruction}\n\n{extra}" if extra else instruction},
                        {"role": "assistant", "content": response}]
            if rng.random() < 0.3:
                messages.insert(0, {"role": "system", "content": "You are a helpful assistant."})
            return {"messages": messages}
        return {"instruction": instruction, "input": extra, "output": response, "id": n}
    if roll < 0.96:
        name, text = rng.choice(seeds.contracts)
        return {"title": name, "text": f"Ref. {n}\n{_swap_words(text, rng)}"}
    return {"dialogue": f"{_swap_words(rng.choice(seeds.dialogues), rng)}\n[doctor] reference {n} .",
            "encounter": n}


def generate(out: Path, seeds: Seeds, *, total_bytes: int, prefix_bytes: int, file_bytes: int, seed: int,
             dup_rate: float = 0.02) -> None:
    """Write ``out/full/part-NNNN.jsonl`` (``total_bytes``) and the first ``prefix_bytes`` of it,
    cut at line ends, to ``out/prefix``. About ``dup_rate`` of the lines repeat an earlier line."""
    rng = random.Random(seed)
    recent: list[bytes] = []
    for sub in ("full", "prefix"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    written = part = in_part = n = 0
    full = prefix = None
    while written < total_bytes:
        if full is None or in_part >= file_bytes:
            for handle in (full, prefix):
                if handle:
                    handle.close()
            name = f"part-{part:04d}.jsonl"
            full = open(out / "full" / name, "wb")
            prefix = open(out / "prefix" / name, "wb") if written < prefix_bytes else None
            part, in_part = part + 1, 0
        if recent and rng.random() < dup_rate:
            line = rng.choice(recent)
        else:
            n += 1
            line = orjson.dumps(_record(seeds, rng, n)) + b"\n"
            if len(recent) < 2000:
                recent.append(line)
            else:
                recent[rng.randrange(2000)] = line
        full.write(line)
        if prefix is not None and written < prefix_bytes:
            prefix.write(line)
        written += len(line)
        in_part += len(line)
    for handle in (full, prefix):
        if handle:
            handle.close()


def synthetic_corpus(workdir: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """The corpus under ``workdir/synthetic``, regenerated only when its parameters changed."""
    out = workdir / "synthetic"
    params = {"version": GENERATOR_VERSION, "mb": args.synthetic_mb, "prefix_mb": args.baseline_mb,
              "file_mb": args.file_mb, "seed": args.seed, "shared": str(args.shared_data)}
    manifest = out / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()) == params:
        return out / "full", out / "prefix"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    generate(out, load_seeds(args.shared_data), total_bytes=int(args.synthetic_mb * MB),
             prefix_bytes=int(args.baseline_mb * MB), file_bytes=int(args.file_mb * MB), seed=args.seed)
    manifest.write_text(json.dumps(params))
    _note(args, f"generated {args.synthetic_mb:g} MB synthetic JSONL in {time.perf_counter() - start:.1f} s "
                f"(untimed) under {out}")
    return out / "full", out / "prefix"


# --- the two ways to ingest -------------------------------------------------------------------

@dataclass
class Counts:
    documents: int
    examples: int
    duplicates: int
    rejects: int

    @property
    def kept(self) -> int:
        return self.documents + self.examples

    @property
    def records(self) -> int:
        return self.kept + self.duplicates + self.rejects


def store_counts(db: Path) -> Counts:
    conn = open_store(db)
    try:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return Counts(one("SELECT count(*) FROM documents"), one("SELECT count(*) FROM examples"),
                      one("SELECT count(*) FROM ingest_duplicates"), one("SELECT count(*) FROM rejects"))
    finally:
        conn.close()


def run_ours(db: Path, paths: list[Path], opts: IngestOptions, tuning: dict[str, int]) -> float:
    conn = open_store(db)
    start = time.perf_counter()
    ingest_paths(conn, paths, opts=opts, actor="bench", exclude=EXCLUDE, **tuning)
    conn.close()
    return time.perf_counter() - start


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    """(origin, record) the naive way: the stdlib parsers, whole records in memory."""
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as handle:
            for i, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield f"{path}:{i}", json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield f"{path}:{i}", exc
    elif path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                yield f"{path}:row{i}", {k.strip(): v for k, v in row.items()}
    elif path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        if isinstance(document, dict):
            document = next((v for v in document.values() if isinstance(v, list) and v
                             and all(isinstance(x, dict) for x in v[:10])), [document])
        for i, record in enumerate(document):
            yield f"{path}:{i}", record
    else:
        raise ValueError(f"baseline reads .jsonl, .csv and .json only, not {path}")


_INSERT_DOCUMENT = ("INSERT INTO documents (source_id, batch_id, file_id, origin, kind, title, text, text_hash, "
                    "n_chars, n_words, turns, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_EXAMPLE = ("INSERT INTO examples (source_id, batch_id, file_id, origin, kind, source_format, messages, "
                   "content_hash, warnings, metadata) VALUES (?, ?, ?, ?, 'imported', ?, ?, ?, ?, ?)")
_INSERT_DUPLICATE = ("INSERT INTO ingest_duplicates (batch_id, file_id, target, kept_id, origin, metadata) "
                     "VALUES (?, ?, ?, ?, ?, ?)")


def run_baseline(db: Path, files: list[Path], opts: IngestOptions) -> float:
    conn = open_store(db)
    start = time.perf_counter()
    conn.execute("INSERT INTO sources (name) VALUES ('bench-baseline')")
    source = conn.execute("SELECT id FROM sources WHERE name = 'bench-baseline'").fetchone()[0]
    batch = conn.execute("INSERT INTO ingest_batches (actor, options) VALUES ('bench', '{}') RETURNING id"
                         ).fetchone()[0]
    for path in files:
        with transaction(conn):
            file_id = conn.execute(
                "INSERT INTO files (source_id, batch_id, path, sha256, n_bytes, format, documents, examples, "
                "duplicates, rejects) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0) RETURNING id",
                [source, batch, str(path), hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size,
                 path.suffix[1:]]).fetchone()[0]
            for origin, record in _records(path):
                try:
                    if isinstance(record, Exception):
                        raise RecordError("malformed_json", str(record))
                    row = record_to_row(record, origin, opts)
                except RecordError as err:
                    conn.execute("INSERT INTO rejects (source_id, batch_id, file_id, origin, code, reason) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", [source, batch, file_id, origin, err.code, err.reason])
                    continue
                if isinstance(row, Document):
                    hit = conn.execute("SELECT id FROM documents WHERE text_hash = ?", [row.text_hash]).fetchone()
                    if hit is None:
                        conn.execute(_INSERT_DOCUMENT, [source, batch, file_id, row.origin, row.kind, row.title,
                                                        row.text, row.text_hash, len(row.text), row.n_words,
                                                        row.turns, row.metadata])
                        continue
                    target = "document"
                else:
                    hit = conn.execute("SELECT id FROM examples WHERE content_hash = ?", [row.content_hash]).fetchone()
                    if hit is None:
                        conn.execute(_INSERT_EXAMPLE, [source, batch, file_id, row.origin, row.source_format,
                                                       row.messages, row.content_hash, row.warnings, row.metadata])
                        continue
                    target = "example"
                conn.execute(_INSERT_DUPLICATE, [batch, file_id, target, hit[0], row.origin, row.metadata])
    conn.close()
    return time.perf_counter() - start


# --- measuring --------------------------------------------------------------------------------

@dataclass
class Result:
    corpus: str
    impl: str
    files: int
    mb: float
    seconds: list[float]
    counts: Counts
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.median

    @property
    def rows_per_s(self) -> float:
        return self.counts.records / self.median

    def as_dict(self) -> dict:
        return {**asdict(self), "median_s": round(self.median, 3), "mb_per_s": round(self.mb_per_s, 2),
                "rows_per_s": round(self.rows_per_s), "records": self.counts.records, "kept": self.counts.kept}


def measure(corpus: str, impl: str, paths: list[Path], args: argparse.Namespace, run, note: str = "") -> Result:
    files = [p for _, p in expand_paths(paths, EXCLUDE)]
    mb = sum(p.stat().st_size for p in files) / MB
    db = args.workdir / "bench.duckdb"
    seconds, counts, seen = [], None, set()
    for r in range(args.repeats):
        for leftover in (db, db.with_name(db.name + ".wal")):
            leftover.unlink(missing_ok=True)
        seconds.append(run(db, paths if impl == "ours" else files))
        counts = store_counts(db)
        seen.add(tuple(asdict(counts).values()))
        _note(args, f"  {corpus:<18} {impl:<8} repeat {r + 1}/{args.repeats}: {seconds[-1]:7.2f} s "
                    f"({mb / seconds[-1]:6.2f} MB/s, {counts.kept:,} kept)")
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    if len(seen) > 1:
        note = f"{note}; WARNING: repeats stored different row counts {sorted(seen)}".lstrip("; ")
    return Result(corpus, impl, len(files), mb, seconds, counts, note)


def profile_ours(paths: list[Path], args: argparse.Namespace, opts: IngestOptions, top: int = 30) -> str:
    """cProfile of one in-process run (workers=1, so parsing is in this process too)."""
    db = args.workdir / "profile.duckdb"
    db.unlink(missing_ok=True)
    conn = open_store(db)
    profiler = cProfile.Profile()
    profiler.enable()
    ingest_paths(conn, paths, opts=opts, actor="bench", exclude=EXCLUDE, workers=1)
    conn.close()
    profiler.disable()
    if args.profile_out:
        profiler.dump_stats(args.profile_out)
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    db.unlink(missing_ok=True)
    return buffer.getvalue()


# --- reporting --------------------------------------------------------------------------------

def _note(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def compare(results: list[Result]) -> list[dict]:
    """Ratio ours/baseline for each corpus both ran on, and whether they kept the same rows."""
    rows = []
    by = {(r.corpus, r.impl): r for r in results}
    for (corpus, impl), base in by.items():
        ours = by.get((corpus, "ours"))
        if impl != "baseline" or ours is None:
            continue
        same = asdict(ours.counts) == asdict(base.counts)
        rows.append({"corpus": corpus, "ratio": round(ours.mb_per_s / base.mb_per_s, 2), "same_rows": same,
                     "ours": asdict(ours.counts), "baseline": asdict(base.counts)})
    return rows


def print_report(results: list[Result], ratios: list[dict], meta: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 140)
    table = Table(title=f"ingest throughput — medians of {meta['repeats']} (MB = 10^6 bytes of input)")
    for col in ("corpus", "impl", "files", "MB", "seconds", "MB/s", "rows/s", "docs+examples", "dups", "rejects"):
        table.add_column(col, justify="left" if col in ("corpus", "impl") else "right")
    for r in results:
        table.add_row(r.corpus, r.impl, str(r.files), f"{r.mb:.1f}", f"{r.median:.2f}", f"{r.mb_per_s:.2f}",
                      f"{r.rows_per_s:,.0f}", f"{r.counts.kept:,}", f"{r.counts.duplicates:,}", f"{r.counts.rejects:,}")
    console.print(table)
    console.print(f"{meta['cpus']} CPUs, load average after the run {meta['load_average']} "
                  f"(other work on the machine slows both sides), workers={meta['workers']}, "
                  f"chunk_bytes={meta['chunk_bytes']:,}, parallel_min_bytes={meta['parallel_min_bytes']:,}, "
                  f"peak RSS of the committing process {meta['peak_rss_mb']} MB")
    for row in ratios:
        console.print(f"ratio ours/baseline on {row['corpus']} (same input): [bold]{row['ratio']:.1f}×[/]")
        if not row["same_rows"]:
            console.print(f"[yellow]WARNING[/]: {row['corpus']}: ours and baseline stored different rows: "
                          f"ours {row['ours']}, baseline {row['baseline']}")
    for r in results:
        if r.note:
            console.print(f"note: {r.corpus}: {r.note}")
    full = next((r for r in results if r.corpus == "synthetic" and r.impl == "ours"), None)
    prefix_ratio = next((row["ratio"] for row in ratios if row["corpus"] == "synthetic-prefix"), None)
    if full is not None:
        console.print(f"goal: ≥ {GOAL_MBPS:g} MB/s of JSONL on 2 cores → ours {full.mb_per_s:.1f} MB/s on "
                      f"{full.mb:.0f} MB with {meta['workers']} workers, {meta['cpus']} CPUs "
                      f"({'met' if full.mb_per_s >= GOAL_MBPS else 'NOT met'})")
    if prefix_ratio is not None:
        console.print(f"goal: ≥ {GOAL_RATIO:g}× the row-by-row baseline → {prefix_ratio:.1f}× "
                      f"({'met' if prefix_ratio >= GOAL_RATIO else 'NOT met'})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--synthetic-mb", type=float, default=200, help="size of the synthetic JSONL corpus")
    parser.add_argument("--baseline-mb", type=float, default=20, help="the baseline runs on this prefix of it")
    parser.add_argument("--file-mb", type=float, default=16, help="size of each synthetic JSONL file")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--workers", type=int, default=settings.workers, help="parser processes for ours")
    parser.add_argument("--parallel-min-bytes", type=int, default=settings.parallel_min_bytes)
    parser.add_argument("--chunk-bytes", type=int, default=settings.chunk_bytes)
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA)
    parser.add_argument("--workdir", type=Path, help="keep the synthetic corpus here and reuse it (default: temp dir)")
    parser.add_argument("--skip", action="append", default=[], choices=["shared", "synthetic", "baseline"],
                        help="leave out a part of the run (repeatable)")
    parser.add_argument("--profile", action="store_true", help="also cProfile ours (workers=1) on the prefix")
    parser.add_argument("--profile-out", type=Path, help="write the cProfile stats to this file")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.baseline_mb > args.synthetic_mb:
        parser.error("--repeats must be ≥ 1 and --baseline-mb at most --synthetic-mb")
    if not args.shared_data.is_dir():
        parser.error(f"shared corpora not found at {args.shared_data}; set CURATOR_SHARED_DATA or --shared-data")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = get_settings()
    opts = IngestOptions(speaker_roles=settings.speaker_roles, max_record_bytes=settings.max_record_bytes)
    tuning = {"workers": args.workers, "parallel_min_bytes": args.parallel_min_bytes, "chunk_bytes": args.chunk_bytes}
    ours = lambda db, paths: run_ours(db, paths, opts, tuning)  # noqa: E731
    baseline = lambda db, files: run_baseline(db, files, opts)  # noqa: E731
    temp = args.workdir is None
    args.workdir = Path(tempfile.mkdtemp(prefix="curator-bench-")) if temp else args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    profile = None
    try:
        if "shared" not in args.skip:
            shared = [args.shared_data / name for name in CORPORA]
            if "baseline" not in args.skip:
                results.append(measure("shared", "baseline", shared, args, baseline))
            results.append(measure("shared", "ours", shared, args, ours))
        if "synthetic" not in args.skip:
            full, prefix = synthetic_corpus(args.workdir, args)
            note = (f"the baseline ran on the first {args.baseline_mb:g} MB of the synthetic corpus only "
                    f"(synthetic-prefix); ours ran on that prefix and on all {args.synthetic_mb:g} MB")
            if "baseline" not in args.skip:
                results.append(measure("synthetic-prefix", "baseline", [prefix], args, baseline, note))
            results.append(measure("synthetic-prefix", "ours", [prefix], args, ours))
            results.append(measure("synthetic", "ours", [full], args, ours))
            if args.profile:
                profile = profile_ours([prefix], args, opts)
    finally:
        if temp:
            shutil.rmtree(args.workdir, ignore_errors=True)
    ratios = compare(results)
    meta = {"repeats": args.repeats, "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "python": platform.python_version(),
            "platform": platform.platform(), **tuning, "synthetic_mb": args.synthetic_mb,
            "baseline_mb": args.baseline_mb, "seed": args.seed}
    if args.json:
        print(json.dumps({"meta": meta, "results": [r.as_dict() for r in results], "ratios": ratios,
                          "profile": profile}, indent=2))
    else:
        print_report(results, ratios, meta)
        if profile:
            print(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
