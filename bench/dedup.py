"""Near-duplicate detection: datasketch as its README shows it (a), datasketch's fastest path (b),
ours (c) and rensa, the Rust MinHash (d), side by side on the same texts, in one run.

    python bench/dedup.py                   # planted corpora of 10k and 100k docs + the shared corpora
    python bench/dedup.py --quick           # 2k planted docs, no shared corpora: a smoke run
    python bench/dedup.py --full-a --json   # (a) on all 100k documents too (~16 min more)

(a) ``MinHash(num_perm)`` (sha1, scheme affine32), ``update()`` once per shingle,
``MinHashLSH(threshold, num_perm)``, ``insert`` then ``query`` for every document: the pairs the
index returns are the answer (no verification, as in datasketch's README). (b) ``MinHash.bulk``
with an xxhash 32-bit hash function, ``LeanMinHash``, ``MinHashLSH.insertion_session`` and
``query``. Both get the shingles from ``curator.dedup.shingles.shingles``, the byte strings our
compiled loops hash. (c) ``curator.dedup.run_dedup`` on a fresh DuckDB store: signatures,
banding, exact verification, clusters and decisions written to the store; its pairs are the
verified pairs at or above the threshold. (d) rensa's MinHash over the same shingles (as the
flat 64-bit shingle hashes our compiled loop makes), then (c)'s banding, skip bound and exact
verification, in memory (see ``run_rensa``). Every method reads the same texts, from the store.
``bench/dedup_curve.py`` measures how time and memory grow with the corpus (10k to 1M).

The planted corpus (seeded, untimed) has documents of 200–2,000 words drawn with the word
frequencies of the shared corpora, in paragraphs, and families of near-duplicates: copies of a
base document with 5–15 % of the words edited and paragraphs moved. The truth is the exact
Jaccard of Python sets of shingles, for every pair inside a family and every pair any method
reported; unrelated documents almost never share a 5-word shingle, so no other pair can reach
the threshold.
"""

from __future__ import annotations

import argparse
import cProfile
import collections
import csv
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import orjson
import pyarrow as pa

from curator.config import get_settings
from curator.dedup import DedupParams, run_dedup
from curator.dedup import shingles as sh
from curator.dedup.run import TARGETS, texts_for
from curator.ingest import IngestOptions
from curator.ingest.pipeline import ingest_paths
from curator.store import open_store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
CORPORA = ("aci-bench", "bitext-support", "contractnli", "gpteacher", "mts-dialog")
EXCLUDE = ("*_metadata.csv", "LICENSE*", "SOURCE.txt", "SOURCES.md", "README.md")
GOALS = {"precision": 1.0, "recall": 0.99, "vs_a": 30.0, "vs_b": 3.0, "vs_d": 1.0, "docs_per_s_per_core": 10_000}
JACCARD_BINS = (0.8, 0.85, 0.9, 0.95, 1.01)
csv.field_size_limit(sys.maxsize)

Pair = tuple[int, int]


# --- the planted corpus -----------------------------------------------------------------------

def vocabulary(shared: Path) -> tuple[np.ndarray, np.ndarray]:
    """(words, cumulative frequencies) of the contractnli, aci-bench and gpteacher texts."""
    texts: list[str] = []
    for path in sorted((shared / "contractnli").glob("*.json")):
        texts += [d["text"] for d in json.loads(path.read_text(encoding="utf-8"))["documents"]]
    for path in sorted((shared / "aci-bench" / "challenge_data").glob("*.csv")):
        if not path.name.endswith("_metadata.csv"):
            with open(path, newline="", encoding="utf-8") as handle:
                texts += [r["dialogue"] for r in csv.DictReader(handle)]
    for path in sorted((shared / "gpteacher").rglob("*.json")):
        for r in json.loads(path.read_text(encoding="utf-8")):
            texts += [r.get("instruction") or "", r.get("input") or "", r.get("response") or ""]
    counts = collections.Counter(w for t in texts for w in re.findall(r"[A-Za-z0-9]+(?:'[a-z]+)?", t))
    words, freq = zip(*counts.most_common())
    cdf = np.cumsum(np.array(freq, dtype=np.float64))
    return np.array(words, dtype=object), cdf / cdf[-1]


@dataclass
class Planted:
    texts: list[str]  # by document number
    families: list[list[int]]  # base first, then its copies
    unit_ends: np.ndarray  # document numbers where a family or a singleton ends (for whole-unit subsets)


def _draw(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(cdf, rng.random(n)).astype(np.int32)


def _breaks(rng: np.random.Generator, n: int) -> list[int]:
    """Paragraph boundaries: paragraphs of 40–160 words."""
    cuts, at = [], 0
    while True:
        at += int(rng.integers(40, 161))
        if at >= n - 20:
            return cuts
        cuts.append(at)


def _edit(rng: np.random.Generator, cdf: np.ndarray, tokens: np.ndarray, rate: float, mean_run: float) -> np.ndarray:
    """Substitute, insert or delete runs of words (geometric lengths) until ``rate`` of the words are touched."""
    out = tokens.tolist()
    budget = int(round(rate * len(tokens)))
    while budget > 0:
        run = min(budget, int(rng.geometric(1.0 / mean_run)))
        at = int(rng.integers(0, len(out)))
        op = int(rng.integers(3))
        if op == 0:
            out[at:at + run] = _draw(rng, cdf, run).tolist()
        elif op == 1:
            out[at:at] = _draw(rng, cdf, run).tolist()
        else:
            del out[at:at + run]
        budget -= run
    return np.array(out, dtype=np.int32)


def _paragraphs(tokens: np.ndarray, cuts: list[int], base_len: int) -> list[np.ndarray]:
    scale = len(tokens) / base_len
    return np.split(tokens, sorted({min(len(tokens), round(c * scale)) for c in cuts}))


def _render(words: np.ndarray, paragraphs: list[np.ndarray]) -> str:
    return "\n\n".join(" ".join(words[p].tolist()) + "." for p in paragraphs if len(p))


def plant(n_docs: int, words: np.ndarray, cdf: np.ndarray, *, seed: int, family_share: float,
          edit_rates: tuple[float, float], mean_run: float, move_p: float) -> Planted:
    """``n_docs`` documents; ``family_share`` of them in families of a base and 1–4 edited copies."""
    rng = np.random.default_rng(seed)
    units: list[int] = []  # family sizes; 1 = a singleton
    in_families = 0
    while in_families < family_share * n_docs:
        units.append(int(rng.integers(2, 6)))
        in_families += units[-1]
    units += [1] * max(0, n_docs - in_families)
    rng.shuffle(units)
    lengths = rng.integers(200, 2001, len(units))
    all_tokens = _draw(rng, cdf, int(lengths.sum()))
    texts: list[str] = []
    families: list[list[int]] = []
    bounds = np.r_[0, np.cumsum(lengths)]
    for u, size in enumerate(units):
        base = all_tokens[bounds[u]:bounds[u + 1]]
        cuts = _breaks(rng, len(base))
        first = len(texts)
        texts.append(_render(words, _paragraphs(base, cuts, len(base))))
        for _ in range(size - 1):
            rate = float(rng.uniform(*edit_rates))
            paragraphs = _paragraphs(_edit(rng, cdf, base, rate, mean_run), cuts, len(base))
            if len(paragraphs) > 2 and rng.random() < move_p:
                for _ in range(int(rng.integers(1, 3))):
                    moved = paragraphs.pop(int(rng.integers(len(paragraphs))))
                    paragraphs.insert(int(rng.integers(len(paragraphs) + 1)), moved)
            texts.append(_render(words, paragraphs))
        if size > 1:
            families.append(list(range(first, len(texts))))
    return Planted(texts[:n_docs], [f for f in families if f[-1] < n_docs], np.cumsum(units))


# --- the store --------------------------------------------------------------------------------

def ingest_records(db: Path, records: Iterable[dict], workdir: Path) -> None:
    """Write ``records`` as JSONL and ingest them with the real pipeline into a fresh store."""
    path = workdir / "records.jsonl"
    with open(path, "wb") as handle:
        for record in records:
            handle.write(orjson.dumps(record) + b"\n")
    conn = open_store(db)
    try:
        ingest_paths(conn, [path], opts=IngestOptions(format="text"), actor="bench", workers=get_settings().workers)
    finally:
        conn.close()
    path.unlink()


def ingest_planted(db: Path, planted: Planted, workdir: Path, seed: int) -> None:
    """In a shuffled order, so row ids do not follow families; the document number goes to metadata."""
    order = np.random.default_rng(seed + 1).permutation(len(planted.texts))
    ingest_records(db, ({"text": planted.texts[n], "doc": n} for n in order.tolist()), workdir)


def ingest_shared(db: Path, shared: Path) -> None:
    settings = get_settings()
    conn = open_store(db)
    try:
        ingest_paths(conn, [shared / name for name in CORPORA], actor="bench", exclude=EXCLUDE,
                     opts=IngestOptions(speaker_roles=settings.speaker_roles), workers=settings.workers)
    finally:
        conn.close()


@dataclass
class Texts:
    """What every method reads: the rows of one target, as ``run_dedup`` reads them."""
    ids: np.ndarray
    arrow: pa.Array
    label: np.ndarray  # planted document number per row, or the row id

    @property
    def strings(self) -> list[str]:
        return self.arrow.to_pylist()


def read_texts(db: Path, target: str) -> Texts:
    conn = open_store(db)
    try:
        every = np.array([r[0] for r in conn.execute(f"SELECT id FROM {target} ORDER BY id").fetchall()], np.int64)
        ids, text = texts_for(conn, TARGETS[target], every)
        label = ids
        if target == "documents":
            docs = dict(conn.execute("SELECT id, TRY_CAST(json_extract(metadata, '$.doc') AS BIGINT) FROM documents")
                        .fetchall())
            if all(docs.get(int(i)) is not None for i in ids):
                label = np.array([docs[int(i)] for i in ids], dtype=np.int64)
    finally:
        conn.close()
    return Texts(ids, text, label)


# --- measuring --------------------------------------------------------------------------------

class Peak:
    """Peak resident memory of this process while the block runs: Linux's VmHWM, reset through
    /proc/self/clear_refs when entering. ``start`` is the RSS at entry, so ``peak - start`` is
    what the block added. Without /proc: getrusage's ru_maxrss (a high-water mark since start)."""

    def __enter__(self) -> "Peak":
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            self.how = "VmHWM"
        except OSError:
            self.how = "ru_maxrss"
        self.start = self._read("VmRSS")
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.peak = self._read("VmHWM")
        self.cpu = time.process_time() - self.cpu

    def _read(self, key: str) -> float:
        import resource

        if self.how == "VmHWM":
            with open("/proc/self/status") as handle:
                for line in handle:
                    if line.startswith(key + ":"):
                        return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Run:
    impl: str
    docs: int
    stages: dict[str, float]  # seconds
    seconds: float  # end to end
    cpu_seconds: float
    peak_mb: float
    start_mb: float
    pairs: set[Pair] = field(repr=False)
    note: str = ""
    extra: dict = field(default_factory=dict)


def _timed_shingles(texts: Iterable[str], params: DedupParams, clock: list[float],
                    empty: list[int]) -> Iterator[list[bytes]]:
    """Shingles per text for ``MinHash.bulk``, timing the shingling and noting empty texts."""
    for i, text in enumerate(texts):
        start = time.perf_counter()
        found = sh.shingles(text, params)
        clock[0] += time.perf_counter() - start
        if not found:
            empty.append(i)
        yield found


def _query_all(lsh, keys: list[int], sketches: list) -> set[Pair]:
    pairs: set[Pair] = set()
    for key, m in zip(keys, sketches):
        for other in lsh.query(m):
            if other != key:
                pairs.add((key, other) if key < other else (other, key))
    return pairs


def run_readme(texts: list[str], keys: list[int], params: DedupParams) -> Run:
    """(a): one ``MinHash`` per document, one ``update`` per shingle, ``insert``, then ``query``."""
    from datasketch import MinHash, MinHashLSH

    clock = {"shingle": 0.0, "sign": 0.0, "index": 0.0, "query": 0.0}
    with Peak() as peak:
        lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
        sketches, inserted = [], []
        for key, text in zip(keys, texts):
            t0 = time.perf_counter()
            found = sh.shingles(text, params)
            t1 = time.perf_counter()
            m = MinHash(num_perm=params.num_perm)
            for s in found:
                m.update(s)
            t2 = time.perf_counter()
            if found:
                lsh.insert(key, m)
                sketches.append(m)
                inserted.append(key)
            t3 = time.perf_counter()
            clock["shingle"] += t1 - t0
            clock["sign"] += t2 - t1
            clock["index"] += t3 - t2
        t0 = time.perf_counter()
        pairs = _query_all(lsh, inserted, sketches)
        clock["query"] = time.perf_counter() - t0
    return Run("a", len(texts), clock, sum(clock.values()), peak.cpu, peak.peak, peak.start, pairs)


def run_fastest(texts: list[str], keys: list[int], params: DedupParams, hash_name: str) -> Run:
    """(b): ``MinHash.bulk`` with a fast hash, ``LeanMinHash``, an insertion session, ``query``."""
    import xxhash
    from datasketch import LeanMinHash, MinHash, MinHashLSH
    from datasketch.hashfunc import sha1_hash32

    hashfunc = xxhash.xxh32_intdigest if hash_name == "xxh32" else sha1_hash32
    clock = {"shingle": 0.0, "sign": 0.0, "index": 0.0, "query": 0.0}
    shingle_clock, empty = [0.0], []
    with Peak() as peak:
        t0 = time.perf_counter()
        sketches = [LeanMinHash(m) for m in MinHash.bulk(_timed_shingles(texts, params, shingle_clock, empty),
                                                         num_perm=params.num_perm, hashfunc=hashfunc)]
        clock["shingle"] = shingle_clock[0]
        clock["sign"] = time.perf_counter() - t0 - shingle_clock[0]
        t0 = time.perf_counter()
        skip = set(empty)  # no shingles: no signature (ours skips them too)
        keep = [i for i in range(len(keys)) if i not in skip]
        lsh = MinHashLSH(threshold=params.threshold, num_perm=params.num_perm)
        with lsh.insertion_session() as session:
            for i in keep:
                session.insert(keys[i], sketches[i], check_duplication=False)
        clock["index"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pairs = _query_all(lsh, [keys[i] for i in keep], [sketches[i] for i in keep])
        clock["query"] = time.perf_counter() - t0
    return Run("b", len(texts), clock, sum(clock.values()), peak.cpu, peak.peak, peak.start, pairs,
               note=f"hash {hash_name}")


def run_rensa(texts: pa.Array, keys: np.ndarray, params: DedupParams) -> Run:
    """(d): rensa's Rust MinHash over the same shingles, then the same banding, skip bound and
    exact verification as ours. rensa takes the shingles as a flat buffer of 64-bit shingle hashes
    (its fastest input; Python byte strings would make shingling the whole bill), which our
    compiled loop produces (timed as shingle). Its digests are 32-bit and not datasketch's, so only
    the MinHash loop differs from (c); its LSH index has no pair output and needs bands dividing
    num_perm, so candidates come from ``banding.candidate_pairs`` with our bands."""
    import rensa

    from curator.dedup import kernels
    from curator.dedup.banding import band_keys, candidate_pairs
    from curator.dedup.verify import exact_jaccard, worth_verifying

    clock = {}
    with Peak() as peak:
        t0 = time.perf_counter()
        buf, offsets = sh.pack(texts)
        flat, bounds = kernels.shingle_hash_lists(buf, offsets, params.ngram, sh._mode(params))
        keep = np.flatnonzero(np.diff(bounds) > 0)  # no shingles: no signature (ours skips them too)
        t1 = time.perf_counter()
        digests = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, bounds, params.num_perm, params.seed)
        del flat
        t2 = time.perf_counter()
        sig = np.array(digests.to_rows(), dtype=np.uint64)[keep]  # rensa's only way out: lists of ints
        del digests
        t3 = time.perf_counter()
        bands, rows = params.bands_rows
        pairs = candidate_pairs(keep, band_keys(sig, bands, rows))
        t4 = time.perf_counter()
        worth = worth_verifying(sig, pairs[:, 0], pairs[:, 1], params)
        rows_at = np.arange(len(keys))
        jaccard = exact_jaccard(pairs[worth], rows_at, texts, params)
        found = pairs[worth][jaccard >= params.threshold]
        t5 = time.perf_counter()
    clock = {"shingle": t1 - t0, "sign": t2 - t1, "export": t3 - t2, "band": t4 - t3, "verify": t5 - t4}
    found_keys = {(int(keys[a]), int(keys[b])) for a, b in found.tolist()}
    return Run("d", len(keys), clock, t5 - t0, peak.cpu, peak.peak, peak.start,
               {(a, b) if a < b else (b, a) for a, b in found_keys},
               note=f"{bands}×{rows} bands, {int(worth.sum()):,} of {len(pairs):,} verified")


def warm_up(workdir: Path) -> float:
    """Run the whole pipeline once on a tiny store, so numba's first-call compile (or the load of
    its on-disk cache) and lazy imports are not timed."""
    db = workdir / "warm.duckdb"
    text = " ".join(f"w{i % 97} x{i % 13}" for i in range(400))
    ingest_records(db, [{"text": t} for t in (text, text + " end", "short text only", text[::-1])], workdir)
    start = time.perf_counter()
    conn = open_store(db)
    try:
        run_dedup(conn, "documents", DedupParams(), actor="bench")
        ids, texts = texts_for(conn, "document", np.arange(1, 5))
        run_rensa(texts, ids, DedupParams())  # (d)'s compiled shingle loop too
    finally:
        conn.close()
    _remove(db)
    return time.perf_counter() - start


def _remove(db: Path) -> None:
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)


def run_ours(base_db: Path, target: str, params: DedupParams, workdir: Path, profile: bool = False) -> Run:
    """(c): ``run_dedup`` on a fresh copy of the ingested store (the copy is not timed)."""
    db = workdir / "ours.duckdb"
    _remove(db)
    shutil.copyfile(base_db, db)
    conn = open_store(db)
    profiler = cProfile.Profile() if profile else None
    try:
        with Peak() as peak:
            if profiler:
                profiler.enable()
            start = time.perf_counter()
            report = run_dedup(conn, target, params, actor="bench")
            seconds = time.perf_counter() - start
            if profiler:
                profiler.disable()
        rows = conn.execute("SELECT a_id, b_id, jaccard FROM dedup_pairs WHERE params_key = ? AND jaccard >= ?",
                            [params.key, params.threshold]).fetchall()
    finally:
        conn.close()
    _remove(db)
    extra = {"report": report.as_dict(), "jaccard": {(a, b): j for a, b, j in rows}}
    if profiler:
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer).strip_dirs()
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        extra["profile"] = buffer.getvalue()
    return Run("c", report.rows_hashed, dict(report.seconds), seconds, peak.cpu, peak.peak, peak.start,
               {(a, b) for a, b, _ in rows}, note=f"{report.bands}×{report.rows} bands, "
               f"{report.verified_pairs:,} of {report.candidate_pairs:,} verified", extra=extra)


def ours_signatures(texts: pa.Array, params: DedupParams) -> float:
    """Our signature stage alone (pack + compiled loop), like with like against (a)/(b)'s shingle+sign."""
    start = time.perf_counter()
    sh.signatures(texts, params)
    return time.perf_counter() - start


def median_run(runs: list[Run]) -> Run:
    """The repeat with the median end-to-end time, its stages replaced by the per-stage medians."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    mid = ordered[(len(ordered) - 1) // 2]
    mid.stages = {k: statistics.median(r.stages[k] for r in runs) for k in mid.stages}
    mid.extra["repeats"] = [round(r.seconds, 3) for r in runs]
    mid.extra["load_1m"] = [r.extra["load_1m"] for r in runs]
    return mid


# --- the truth --------------------------------------------------------------------------------

class Truth:
    """Exact Jaccard of Python sets of ``shingles(text)``, per pair of labels, computed on demand."""

    def __init__(self, texts: list[str], labels: np.ndarray, params: DedupParams):
        self.text_of = dict(zip(labels.tolist(), texts))
        self.params = params
        self.jaccard: dict[Pair, float] = {}
        self._sets: dict[int, set[bytes]] = {}

    def _set(self, label: int) -> set[bytes]:
        found = self._sets.get(label)
        if found is None:
            found = self._sets[label] = set(sh.shingles(self.text_of[label], self.params))
        return found

    def add_families(self, families: list[list[int]]) -> None:
        for family in families:
            sets = {d: set(sh.shingles(self.text_of[d], self.params)) for d in family}
            for a, b in combinations(sorted(family), 2):
                self.jaccard[(a, b)] = _jaccard(sets[a], sets[b])

    def add_pairs(self, pairs: Iterable[Pair]) -> None:
        for pair in pairs:
            if pair not in self.jaccard:
                self.jaccard[pair] = _jaccard(self._set(pair[0]), self._set(pair[1]))
        if len(self._sets) > 50_000:
            self._sets.clear()


def _jaccard(a: set, b: set) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def relabel(pairs: set[Pair], ids: np.ndarray, labels: np.ndarray) -> set[Pair]:
    label_of = dict(zip(ids.tolist(), labels.tolist()))
    out = set()
    for a, b in pairs:
        x, y = label_of[a], label_of[b]
        out.add((x, y) if x < y else (y, x))
    return out


def score(found: set[Pair], truth: Truth, threshold: float, scope: Callable[[Pair], bool] | None = None) -> dict:
    """Precision and recall of ``found`` against the pairs of ``truth`` at or above the threshold
    (in ``scope``: both members in the documents the method ran on), and recall per Jaccard bin."""
    positive = {p for p, j in truth.jaccard.items() if j >= threshold and (scope is None or scope(p))}
    hits = found & positive
    by_bin = {}
    for lo, hi in zip(JACCARD_BINS, JACCARD_BINS[1:]):
        inside = {p for p in positive if lo <= truth.jaccard[p] < hi}
        by_bin[f"{lo:.2f}–{min(hi, 1.0):.2f}"] = (len(inside & found), len(inside))
    below = [truth.jaccard[p] for p in found - positive]
    return {"reported": len(found), "true_pairs": len(positive), "hits": len(hits),
            "precision": len(hits) / len(found) if found else 1.0,
            "recall": len(hits) / len(positive) if positive else 1.0,
            "recall_by_jaccard": by_bin,
            "false_positive_jaccard_max": round(max(below), 4) if below else None}


# --- one corpus -------------------------------------------------------------------------------

def _note(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


def _runs(args: argparse.Namespace, label: str, make: Callable[[], Run], repeats: int) -> Run:
    runs = []
    for r in range(repeats):
        runs.append(make())
        runs[-1].extra["load_1m"] = round(os.getloadavg()[0], 2)
        _note(args, f"  {label:<16} ({runs[-1].impl}) repeat {r + 1}/{repeats}: {runs[-1].seconds:8.2f} s "
                    f"({runs[-1].docs / runs[-1].seconds:,.0f} docs/s, {len(runs[-1].pairs):,} pairs)")
    return median_run(runs)


def _profile(args: argparse.Namespace, db: Path, target: str, params: DedupParams) -> str:
    _note(args, "  profiling ours (cProfile, an extra untimed run; each compiled loop shows as one call)")
    return run_ours(db, target, params, args.workdir, profile=True).extra["profile"]


def _label(n_docs: int) -> str:
    return f"planted-{n_docs // 1000}k" if n_docs % 1000 == 0 else f"planted-{n_docs}"


def bench_planted(n_docs: int, words: np.ndarray, cdf: np.ndarray, args: argparse.Namespace) -> dict:
    params = DedupParams(threshold=args.threshold, num_perm=args.num_perm, ngram=args.ngram)
    label = _label(n_docs)
    start = time.perf_counter()
    planted = plant(n_docs, words, cdf, seed=args.seed + n_docs, family_share=args.family_share,
                    edit_rates=args.edit_rates, mean_run=args.edit_run, move_p=args.move_p)
    db = args.workdir / f"{label}.duckdb"
    db.unlink(missing_ok=True)
    ingest_planted(db, planted, args.workdir, args.seed)
    texts = read_texts(db, "documents")
    strings, keys = texts.strings, texts.ids.tolist()
    _note(args, f"{label}: generated and ingested {len(strings):,} documents, {len(planted.families):,} families "
                f"in {time.perf_counter() - start:.0f} s (untimed)")
    repeats = args.repeats
    ours = _runs(args, label, lambda: run_ours(db, "documents", params, args.workdir), repeats)
    sig_seconds = statistics.median(ours_signatures(texts.arrow, params) for _ in range(repeats))
    if args.profile:
        ours.extra["profile"] = _profile(args, db, "documents", params)
    fastest = _runs(args, label, lambda: run_fastest(strings, keys, params, args.b_hash), repeats)
    rensa_run = _runs(args, label, lambda: run_rensa(texts.arrow, texts.ids, params), repeats)
    # (a) on whole families and singletons up to --a-docs documents, unless --full-a
    cut = n_docs if args.full_a or args.a_docs >= n_docs else int(planted.unit_ends[np.searchsorted(
        planted.unit_ends, args.a_docs)])
    subset = np.flatnonzero(texts.label < cut)
    readme = _runs(args, label, lambda: run_readme([strings[i] for i in subset], [keys[i] for i in subset], params),
                   1 if cut < n_docs else repeats)
    if cut < n_docs:
        readme.extra["measured"] = {"docs": len(subset), "seconds": readme.seconds, "stages": dict(readme.stages)}
        scale = len(strings) / len(subset)
        readme.stages = {k: v * scale for k, v in readme.stages.items()}
        readme.seconds *= scale
        readme.cpu_seconds *= scale
        readme.note = f"EXTRAPOLATED ×{scale:.1f} from {len(subset):,} docs"
        readme.docs = len(strings)
    start = time.perf_counter()
    truth = Truth(strings, texts.label, params)
    truth.add_families(planted.families)
    runs = {"a": readme, "b": fastest, "c": ours, "d": rensa_run}
    found = {k: relabel(r.pairs, texts.ids, texts.label) for k, r in runs.items()}
    for pairs in found.values():
        truth.add_pairs(pairs)
    scores = {k: score(found[k], truth, params.threshold, (lambda p: p[1] < cut) if k == "a" else None)
              for k in runs}
    ours_j = relabel_values(ours.extra.pop("jaccard"), texts.ids, texts.label)
    diffs = [abs(ours_j[p] - truth.jaccard[p]) for p in ours_j if p in truth.jaccard]
    family_j = [truth.jaccard[p] for f in planted.families for p in combinations(sorted(f), 2)]
    _note(args, f"  truth: exact Jaccard of {len(truth.jaccard):,} pairs, {time.perf_counter() - start:.0f} s, untimed")
    corpus = {"corpus": label, "docs": len(strings), "families": len(planted.families),
              "family_pairs": len(family_j),
              "family_pairs_at_threshold": sum(j >= params.threshold for j in family_j),
              "family_jaccard_quantiles": np.quantile(family_j, [0.05, 0.25, 0.5, 0.75, 0.95]).round(3).tolist()
              if family_j else [],
              "words": int(sum(len(t.split()) for t in strings)),
              "ours_signature_seconds": round(sig_seconds, 3),
              "ours_vs_truth_max_abs_jaccard_diff": max(diffs) if diffs else None,
              "a_subset_docs": len(subset), "a_extrapolated": cut < n_docs}
    _remove(db)
    return _result(corpus, runs, scores, sig_seconds)


def relabel_values(values: dict[Pair, float], ids: np.ndarray, labels: np.ndarray) -> dict[Pair, float]:
    label_of = dict(zip(ids.tolist(), labels.tolist()))
    out = {}
    for (a, b), j in values.items():
        x, y = label_of[a], label_of[b]
        out[(x, y) if x < y else (y, x)] = j
    return out


def bench_shared(args: argparse.Namespace) -> list[dict]:
    """The shared corpora: documents (NDAs, dialogues) and examples (instruction + response) apart.
    No planted truth: the truth is the exact Jaccard of every pair any method reported, so recall
    is relative to the union of what the three found."""
    params = DedupParams(threshold=args.threshold, num_perm=args.num_perm, ngram=args.ngram)
    db = args.workdir / "shared.duckdb"
    db.unlink(missing_ok=True)
    ingest_shared(db, args.shared_data)
    out = []
    for target in ("documents", "examples"):
        texts = read_texts(db, target)
        strings, keys = texts.strings, texts.ids.tolist()
        label = f"shared-{target}"
        _note(args, f"{label}: {len(strings):,} rows")
        runs = {"c": _runs(args, label, lambda: run_ours(db, target, params, args.workdir), args.repeats),
                "b": _runs(args, label, lambda: run_fastest(strings, keys, params, args.b_hash), args.repeats),
                "a": _runs(args, label, lambda: run_readme(strings, keys, params), args.repeats),
                "d": _runs(args, label, lambda: run_rensa(texts.arrow, texts.ids, params), args.repeats)}
        sig_seconds = statistics.median(ours_signatures(texts.arrow, params) for _ in range(args.repeats))
        if args.profile:
            runs["c"].extra["profile"] = _profile(args, db, target, params)
        truth = Truth(strings, texts.ids, params)
        for r in runs.values():
            truth.add_pairs(r.pairs)
        runs["c"].extra.pop("jaccard")
        scores = {k: score(r.pairs, truth, params.threshold) for k, r in runs.items()}
        agree = {f"{x}~{y}": _overlap(runs[x].pairs, runs[y].pairs) for x, y in (("c", "a"), ("c", "b"), ("c", "d"), ("a", "b"))}
        corpus = {"corpus": label, "docs": len(strings), "words": int(sum(len(t.split()) for t in strings)),
                  "ours_signature_seconds": round(sig_seconds, 3), "agreement": agree,
                  "note": "truth = reported pairs with exact Jaccard ≥ threshold; recall relative to their union"}
        out.append(_result(corpus, runs, scores, sig_seconds))
    _remove(db)
    return out


def _overlap(x: set, y: set) -> dict:
    return {"both": len(x & y), "only_first": len(x - y), "only_second": len(y - x),
            "jaccard": round(len(x & y) / len(x | y), 4) if x | y else 1.0}


def _result(corpus: dict, runs: dict[str, Run], scores: dict, sig_seconds: float) -> dict:
    impls = {}
    for key, r in runs.items():
        sign = r.stages.get("shingle", 0.0) + r.stages.get("sign", 0.0) if key != "c" else sig_seconds
        impls[key] = {"docs": r.docs, "seconds": round(r.seconds, 3), "docs_per_s": round(r.docs / r.seconds, 1),
                      "stages": {k: round(v, 3) for k, v in r.stages.items()},
                      "stage_docs_per_s": {k: round(r.docs / v) if v > 0 else None for k, v in r.stages.items()},
                      "signature_seconds": round(sign, 3), "cpu_seconds": round(r.cpu_seconds, 2),
                      "peak_rss_mb": round(r.peak_mb), "start_rss_mb": round(r.start_mb), "note": r.note,
                      **scores[key], **{k: v for k, v in r.extra.items() if k != "profile"}}
    ours = runs["c"].seconds
    corpus["impls"] = impls
    corpus["ratios"] = {"ours_vs_a": round(runs["a"].seconds / ours, 1),
                        "ours_vs_b": round(runs["b"].seconds / ours, 1),
                        "ours_vs_d": round(runs["d"].seconds / ours, 2),
                        "signatures_vs_d": round(impls["d"]["signature_seconds"] / sig_seconds, 2),
                        "signatures_vs_a": round(impls["a"]["signature_seconds"] / sig_seconds, 1),
                        "signatures_vs_b": round(impls["b"]["signature_seconds"] / sig_seconds, 1)}
    if "profile" in runs["c"].extra:
        corpus["profile"] = runs["c"].extra["profile"]
    return corpus


# --- reporting --------------------------------------------------------------------------------

NAMES = {"a": "(a) README", "b": "(b) bulk", "c": "(c) ours", "d": "(d) rensa"}


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_report(results: list[dict], meta: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 180)
    table = Table(title=f"near-duplicate detection, threshold {meta['threshold']}, num_perm {meta['num_perm']}, "
                        f"{meta['ngram']}-word shingles — medians of {meta['repeats']}")
    for col in ("corpus", "impl", "docs", "seconds", "docs/s", "CPU s", "peak RSS MB (+added)", "pairs",
                "precision", "recall", "signatures s", "load 1m", "note"):
        table.add_column(col, justify="left" if col in ("corpus", "impl", "note") else "right")
    for res in results:
        for key in NAMES:
            r = res["impls"][key]
            table.add_row(res["corpus"], NAMES[key], f"{r['docs']:,}", f"{r['seconds']:.2f}",
                          f"{r['docs_per_s']:,.0f}", f"{r['cpu_seconds']:.1f}",
                          f"{r['peak_rss_mb']:,} (+{r['peak_rss_mb'] - r['start_rss_mb']:,})", f"{r['reported']:,}",
                          f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['signature_seconds']:.2f}",
                          " ".join(f"{x:.1f}" for x in r.get("load_1m", [])), r["note"])
    console.print(table)
    console.print("(a) datasketch as its README shows; (b) MinHash.bulk + LeanMinHash + insertion_session; "
                  "(c) curator.dedup.run_dedup on the store, with exact verification.")
    console.print("signatures s: shingling + MinHash for (a)/(b); ours' compiled signature loop alone.")
    if any(res.get("a_extrapolated") for res in results):
        console.print("(a) EXTRAPOLATED: measured on whole families and singletons, scaled linearly in documents; "
                      "its precision, recall and peak RSS are those of the measured subset (--full-a measures all).")
    stages = Table(title="docs/s per stage (seconds)")
    for col in ("corpus", "impl", "stages"):
        stages.add_column(col)
    for res in results:
        for key in NAMES:
            r = res["impls"][key]
            stages.add_row(res["corpus"], NAMES[key], "  ".join(
                f"{k} {r['stage_docs_per_s'][k] or 0:,} ({v:.2f})" for k, v in r["stages"].items()))
    console.print(stages)
    for res in results:
        ratio = res["ratios"]
        extrapolated = " (a extrapolated)" if res.get("a_extrapolated") else ""
        console.print(f"[bold]{res['corpus']}[/]: ours/(a) {ratio['ours_vs_a']:.1f}×{extrapolated}, ours/(b) "
                      f"{ratio['ours_vs_b']:.1f}×, ours/(d) {ratio['ours_vs_d']:.2f}× end to end; signatures alone "
                      f"{ratio['signatures_vs_a']:.1f}×, {ratio['signatures_vs_b']:.1f}× and {ratio['signatures_vs_d']:.2f}×")
        if "family_pairs" in res:
            console.print(f"  {res['families']:,} families, {res['family_pairs']:,} pairs inside them, "
                          f"{res['family_pairs_at_threshold']:,} at Jaccard ≥ {meta['threshold']}; their Jaccard at "
                          f"5/25/50/75/95 %: {res['family_jaccard_quantiles']}; ours' stored Jaccard vs Python sets: "
                          f"max |diff| {res['ours_vs_truth_max_abs_jaccard_diff']}")
        for key in NAMES:
            r = res["impls"][key]
            bins = " ".join(f"{b} {h}/{n}" for b, (h, n) in r["recall_by_jaccard"].items())
            worst = f"; false positives up to Jaccard {r['false_positive_jaccard_max']}" if r["precision"] < 1 else ""
            console.print(f"  ({key}) found/true by Jaccard: {bins}{worst}")
        for pair, v in res.get("agreement", {}).items():
            x, y = pair.split("~")
            console.print(f"  pairs of ({x}) and ({y}): {v['both']:,} in both, {v['only_first']:,} "
                          f"only ({x}), {v['only_second']:,} only ({y})")
    console.print(f"{meta['cpus']} CPUs, numba threads {meta['numba_threads']}, load average after the run "
                  f"{meta['load_average']}; peak RSS: {meta['memory']}; the pipeline ran once on a tiny store "
                  f"before any timing ({meta['warm_up_s']:.1f} s: numba's compile or cache load, lazy imports)")
    big = next((r for r in results if r["corpus"] == meta["goal_corpus"]), None)
    if big is not None:
        c, ratio = big["impls"]["c"], big["ratios"]
        extrapolated = " (a extrapolated)" if big["a_extrapolated"] else ""
        console.print(f"goals on {big['corpus']}: precision {GOALS['precision']:.2f} → {c['precision']:.3f} "
                      f"({_met(c['precision'] >= GOALS['precision'])}); recall ≥ {GOALS['recall']} → "
                      f"{c['recall']:.3f} ({_met(c['recall'] >= GOALS['recall'])}); ≥ {GOALS['vs_a']:g}× (a) → "
                      f"{ratio['ours_vs_a']:.1f}×{extrapolated} ({_met(ratio['ours_vs_a'] >= GOALS['vs_a'])}); "
                      f"≥ {GOALS['vs_b']:g}× (b) → {ratio['ours_vs_b']:.1f}× "
                      f"({_met(ratio['ours_vs_b'] >= GOALS['vs_b'])}); ≥ {GOALS['vs_d']:g}× (d) → "
                      f"{ratio['ours_vs_d']:.2f}× ({_met(ratio['ours_vs_d'] >= GOALS['vs_d'])}); "
                      f"≥ {GOALS['docs_per_s_per_core']:,} docs/s per core → {c['docs_per_s'] / meta['cpus']:,.0f} "
                      f"({_met(c['docs_per_s'] / meta['cpus'] >= GOALS['docs_per_s_per_core'])})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="planted corpus sizes, comma-separated")
    parser.add_argument("--quick", action="store_true", help="2,000 planted documents and no shared corpora")
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement; medians are reported")
    parser.add_argument("--a-docs", type=int, default=10_000,
                        help="(a) runs on this many documents (whole families) and is extrapolated")
    parser.add_argument("--full-a", action="store_true", help="run (a) on every document (~16 min at 100k)")
    parser.add_argument("--b-hash", choices=["xxh32", "sha1"], default="xxh32", help="hash function of (b)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--family-share", type=float, default=0.3, help="share of documents in planted families")
    parser.add_argument("--edit-rates", default="0.05,0.15", help="range of the share of words edited in a copy")
    parser.add_argument("--edit-run", type=float, default=8.0, help="mean length of an edited run of words")
    parser.add_argument("--move-p", type=float, default=0.5, help="probability that a copy has paragraphs moved")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA)
    parser.add_argument("--workdir", type=Path, help="where the stores go (default: a temp dir, removed)")
    parser.add_argument("--skip", action="append", default=[], choices=["shared", "planted"])
    parser.add_argument("--profile", action="store_true", help="also cProfile ours on each corpus (an extra run)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--save", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    args.sizes = [2000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        args.skip.append("shared")
    lo, hi = (float(x) for x in args.edit_rates.split(","))
    args.edit_rates = (lo, hi)
    if args.repeats < 1 or not 0 <= lo <= hi < 1:
        parser.error("--repeats must be ≥ 1 and --edit-rates two shares 0 ≤ lo ≤ hi < 1")
    if not args.shared_data.is_dir():
        parser.error(f"shared corpora not found at {args.shared_data}; set CURATOR_SHARED_DATA or --shared-data")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temp = args.workdir is None
    args.workdir = Path(tempfile.mkdtemp(prefix="curator-bench-dedup-")) if temp else args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    try:
        warm = warm_up(args.workdir)
        if "planted" not in args.skip:
            words, cdf = vocabulary(args.shared_data)
            for n in args.sizes:
                results.append(bench_planted(n, words, cdf, args))
        if "shared" not in args.skip:
            results += bench_shared(args)
    finally:
        if temp:
            shutil.rmtree(args.workdir, ignore_errors=True)
    import numba

    meta = {"repeats": args.repeats, "cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
            "load_average": [round(x, 2) for x in os.getloadavg()], "warm_up_s": round(warm, 2),
            "memory": "VmHWM of this one process, reset before each method; +added = peak - RSS at its start"
            if Path("/proc/self/clear_refs").exists() else "getrusage ru_maxrss (a high-water mark since start)",
            "python": platform.python_version(), "platform": platform.platform(), "threshold": args.threshold,
            "num_perm": args.num_perm, "ngram": args.ngram, "b_hash": args.b_hash, "seed": args.seed,
            "sizes": args.sizes, "a_docs": args.a_docs, "full_a": args.full_a, "family_share": args.family_share,
            "edit_rates": args.edit_rates, "edit_run": args.edit_run, "move_p": args.move_p,
            "goal_corpus": _label(max(args.sizes))}
    document = json.dumps({"meta": meta, "results": results}, indent=2, default=str)
    if args.save:
        args.save.write_text(document)
    if args.json:
        print(document)
    else:
        print_report(results, meta)
        for res in results:
            if res.get("profile"):
                print(f"--- cProfile of ours on {res['corpus']}\n{res['profile']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
