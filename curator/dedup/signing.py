"""Signing the rows that have no signature yet, as a pipeline: the store streams texts in record
batches (one scan, no id list to bind), a worker thread runs the engine's compiled (nogil)
signature loop on one batch while this thread reads the next and stores the previous one.

Signatures are stored with one Arrow insert per ``STORE_ROWS`` rows, one transaction each, so an
interrupted run resumes where it stopped. A DuckDB row group's worth per insert is written
straight to the table's blocks; small inserts go through the WAL and are written again at each
checkpoint (measured: a commit every 10k rows cost more than signing them). Only two batches of
texts are alive at once, whatever the corpus.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa

from ..sqlfiles import query
from ..store import transaction
from . import kernels
from .engines import Engine
from .params import DedupParams

HASH_BATCH = 10_000  # rows per signed batch: two batches of texts (~65 MB each at 1,000 words) alive
STORE_ROWS = 131_072  # signatures per insert and transaction: a DuckDB row group (122,880) or more


def hashvalues_array(sig: np.ndarray) -> pa.Array:
    """Signatures as fixed-width blobs over the matrix's own buffer (no copy when contiguous)."""
    sig = np.ascontiguousarray(sig)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(sig.shape[1] * 8), sig.shape[0],
                                                [None, pa.py_buffer(sig)])


def _unsigned(cur: duckdb.DuckDBPyConnection, target: str, key: dict) -> Iterator[tuple[np.ndarray, pa.Array]]:
    """(ids, texts) of the rows without a signature, in record batches of ``HASH_BATCH``."""
    reader = cur.sql(query(f"dedup.unsigned_texts_{target}s"), params=key).to_arrow_reader(HASH_BATCH)
    for batch in reader:
        if batch.num_rows:
            yield batch.column(0).to_numpy().astype(np.int64), batch.column(1)


def _store(conn: duckdb.DuckDBPyConnection, target: str, params: DedupParams, chunks: list) -> None:
    """Insert signed batches ``[(ids, sig, counts), ...]`` with one Arrow insert, in one transaction."""
    staged = pa.Table.from_batches([pa.record_batch({
        "row_id": ids, "n_shingles": pa.array(counts, pa.int32()), "hashvalues": hashvalues_array(sig)})
        for ids, sig, counts in chunks])
    with transaction(conn):
        conn.register("staged_signatures", staged)
        conn.execute(query("dedup.insert_signatures"), {
            "target": target, "params_key": params.key, "shingle": params.shingle, "ngram": params.ngram,
            "num_perm": params.num_perm, "seed": params.seed})
        conn.unregister("staged_signatures")


class _Signed:
    """Signed batches: the signatures of rows with shingles, filled into one preallocated matrix,
    and the batches not yet stored."""

    def __init__(self, n: int, num_perm: int):
        self.ids = np.empty(n, dtype=np.int64)
        self.sig = np.empty((n, num_perm), dtype=np.uint64)
        self.n = 0
        self.rows = 0
        self.unstored: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, ids: np.ndarray, sig: np.ndarray, counts: np.ndarray) -> None:
        has = counts > 0
        k = int(has.sum())
        self.ids[self.n:self.n + k], self.sig[self.n:self.n + k] = ids[has], sig[has]
        self.n += k
        self.rows += len(ids)
        self.unstored.append((ids, sig, counts))

    def store(self, conn, target: str, params: DedupParams, at_least: int = 1) -> None:
        if sum(len(ids) for ids, _, _ in self.unstored) >= at_least:
            _store(conn, target, params, self.unstored)
            self.unstored = []

    def sorted(self) -> tuple[np.ndarray, np.ndarray]:
        return sorted_by_id(self.ids[:self.n], self.sig[:self.n])


def sorted_by_id(ids: np.ndarray, sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, sig)`` in ascending id order. The scan hands rows over in no fixed order; the
    matrix is reordered in place (``kernels.permute_rows``), not copied."""
    if len(ids) > 1 and np.any(ids[1:] < ids[:-1]):
        order = np.argsort(ids, kind="stable")
        kernels.permute_rows(sig, order)
        ids = ids[order]
    return ids, sig


def sign_missing(conn: duckdb.DuckDBPyConnection, target: str, params: DedupParams, engine: Engine,
                 progress: Callable[[str, int], None] | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """Sign every row of ``target`` that has no signature for ``params`` (see the module docstring).

    Returns (rows hashed, ids, signatures) of the rows signed now that have shingles, sorted by
    id: on a first run that is every signature, and reading them back would only cost time."""
    key = {"params_key": params.key}
    with conn.cursor() as cur, ThreadPoolExecutor(1, thread_name_prefix="dedup-sign") as pool:
        todo = cur.execute(query(f"dedup.count_unsigned_{target}s"), key).fetchall()[0][0]
        signed = _Signed(todo, params.num_perm)
        pending: tuple[np.ndarray, Future] | None = None
        for ids, texts in _unsigned(cur, target, key):
            running = (ids, pool.submit(engine.signatures, texts, params))
            if pending is not None:  # the previous batch is kept and stored while this one is signed
                signed.add(pending[0], *pending[1].result())
                signed.store(conn, target, params, STORE_ROWS)
                if progress:
                    progress("hash", signed.rows)
            pending = running
        if pending is not None:
            signed.add(pending[0], *pending[1].result())
    signed.store(conn, target, params)
    if progress:
        progress("hash", signed.rows)
    return signed.rows, *signed.sorted()


def hash_missing(conn: duckdb.DuckDBPyConnection, target: str, params: DedupParams, engine: Engine,
                 progress: Callable[[str, int], None] | None = None) -> int:
    """Sign every row without a signature (see ``sign_missing``); how many were signed."""
    return sign_missing(conn, target, params, engine, progress)[0]
