"""The dedup engine on a Ray cluster: the local engine's compiled functions, spread with Ray Data.

Each stage runs the very functions ``LocalEngine`` runs, on slices of the input, and puts the
slices back in input order, so both engines give the same signatures, pairs and Jaccards and
therefore the same clusters. Only compute moves to the cluster: the orchestrator (``run``)
still reads and writes the store, which stays the single source of truth.

- signatures: ``map_batches`` over blocks of texts, each through ``shingles.signatures``;
- banding: band keys per block, then a ``groupby(band, key)`` (the shuffle) whose groups are
  LSH buckets, paired by ``banding.bucket_pairs`` (same sorted members, same ``MAX_BUCKET``);
- verification: ``map_batches`` over blocks of pairs; ids and texts sit once in the object
  store and each block shingles only the rows its pairs name.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pyarrow as pa

from . import banding
from . import shingles as sh
from .params import DedupParams
from .verify import exact_jaccard

TEXTS_PER_BLOCK = 2_000
SIGNATURES_PER_BLOCK = 20_000
PAIRS_PER_BLOCK = 20_000


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:  # the engine is behind an extra
        from ..errors import InputError

        raise InputError('the ray engine needs Ray Data: pip install -e ".[ray]" in the curator '
                         'checkout (or pip install "ray[data]>=2.40"), or use --engine local') from exc
    return ray


def _pack(sig: np.ndarray) -> pa.Array:
    """uint64 [n, p] as one fixed-size binary value per row: Arrow moves it without copies."""
    sig = np.ascontiguousarray(sig, dtype=np.uint64)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(sig.shape[1] * 8), sig.shape[0],
                                                [None, pa.py_buffer(sig.tobytes())])


def _unpack(values: pa.Array | pa.ChunkedArray, num_perm: int) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    flat = np.frombuffer(values.buffers()[1], dtype=np.uint64)
    return flat[values.offset * num_perm:(values.offset + len(values)) * num_perm].reshape(len(values), num_perm)


def _blocks(table: pa.Table, rows: int) -> list[pa.Table]:
    """Ray Data runs one task per block: slicing here is what spreads a stage over the cluster."""
    return [table.slice(start, rows) for start in range(0, table.num_rows, rows)] or [table]


def _collect(ds, order: str) -> pa.Table:
    """The dataset's rows on the driver, sorted by the ``order`` column (blocks finish in any order)."""
    ray = _import_ray()
    tables = [t for t in ray.get(ds.to_arrow_refs()) if t.num_rows]
    if not tables:
        return pa.table({})
    table = pa.concat_tables(tables)
    return table.take(np.argsort(table[order].to_numpy(), kind="stable"))


# --- the functions that run on the workers --------------------------------------------------

def _one_thread() -> None:
    """Ray already runs one task per CPU; numba's own threads on top would oversubscribe the node."""
    import numba

    numba.set_num_threads(1)


def _sign_block(batch: pa.Table, params: DedupParams) -> pa.Table:
    _one_thread()
    sig, counts = sh.signatures(batch["text"].combine_chunks(), params)
    return pa.table({"row": batch["row"], "count": pa.array(counts, pa.int64()), "sig": _pack(sig)})


def _band_block(batch: pa.Table, num_perm: int, bands: int, rows: int) -> pa.Table:
    """One (band, key, id) row per row and band: the shuffle's input."""
    ids = batch["id"].to_numpy()
    keys = banding.band_keys(_unpack(batch["sig"], num_perm), bands, rows)
    return pa.table({"band": np.tile(np.arange(bands, dtype=np.int32), len(ids)),
                     "key": keys.reshape(-1), "id": np.repeat(ids, bands)})


def _bucket(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One LSH bucket's pairs; members sorted by id as the local engine's lexsort leaves them."""
    found = banding.bucket_pairs(np.sort(group["id"])) if len(group["id"]) > 1 else []
    pairs = np.array(found, dtype=np.int64).reshape(-1, 2)
    return {"a": pairs[:, 0], "b": pairs[:, 1]}


def _verify_block(batch: pa.Table, corpus: list, params: DedupParams) -> pa.Table:
    """Exact Jaccard of a block of pairs, shingling only the rows they name."""
    _one_thread()
    ray = _import_ray()
    ids, texts = ray.get(corpus[0])  # wrapped in a list so Ray passes the reference, not the value
    pairs = np.column_stack([batch["a"].to_numpy(), batch["b"].to_numpy()])
    order = np.argsort(ids, kind="stable")  # the driver's texts come in scan order
    position = order[np.searchsorted(ids, np.unique(pairs), sorter=order)]
    jaccard = exact_jaccard(pairs, ids[position], texts.take(pa.array(position)), params)
    return pa.table({"k": batch["k"], "jaccard": jaccard})


# --- the engine ------------------------------------------------------------------------------

class RayEngine:
    """``address``: a running cluster (``ray://head:10001``, or ``auto`` on one of its nodes);
    None joins ``RAY_ADDRESS`` if set, else starts Ray on this machine, bound to 127.0.0.1.
    An already initialised Ray is used as it is."""

    name = "ray"

    def __init__(self, address: str | None = None):
        self.address = address or None
        self._ray = _import_ray()

    def _ready(self):
        ray = self._ray
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no reports to the internet
            address = self.address or os.environ.get("RAY_ADDRESS")  # set for `ray job submit` drivers
            local = {} if address else {"_node_ip_address": "127.0.0.1"}  # nothing listens beyond loopback
            ray.init(address=address, include_dashboard=False, ignore_reinit_error=True,
                     log_to_driver=False, **local)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the CLI draws its own progress
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        return ray

    def signatures(self, texts: pa.Array, params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
        if len(texts) == 0:
            return sh.signatures(texts, params)
        ray = self._ready()
        table = pa.table({"row": np.arange(len(texts), dtype=np.int64), "text": texts})
        ds = ray.data.from_arrow(_blocks(table, TEXTS_PER_BLOCK)).map_batches(
            _sign_block, batch_format="pyarrow", batch_size=None, fn_kwargs={"params": params})
        out = _collect(ds, "row")
        return _unpack(out["sig"], params.num_perm), out["count"].to_numpy().astype(np.int64)

    def candidate_pairs(self, ids: np.ndarray, sig: np.ndarray, params: DedupParams) -> np.ndarray:
        if len(ids) < 2:
            return np.zeros((0, 2), dtype=np.int64)
        ray = self._ready()
        bands, rows = params.bands_rows
        table = pa.table({"id": np.asarray(ids, dtype=np.int64), "sig": _pack(sig)})
        partitions = max(1, int(ray.cluster_resources().get("CPU", 1)))
        ds = (ray.data.from_arrow(_blocks(table, SIGNATURES_PER_BLOCK))
              .map_batches(_band_block, batch_format="pyarrow", batch_size=None,
                           fn_kwargs={"num_perm": params.num_perm, "bands": bands, "rows": rows})
              .groupby(["band", "key"], num_partitions=partitions)
              .map_groups(_bucket, batch_format="numpy"))
        tables = [t for t in ray.get(ds.to_arrow_refs()) if t.num_rows]
        if not tables:
            return np.zeros((0, 2), dtype=np.int64)
        found = pa.concat_tables(tables)
        pairs = np.column_stack([found["a"].to_numpy(), found["b"].to_numpy()]).astype(np.int64)
        return np.unique(pairs, axis=0)  # distinct and sorted, as the local engine returns them

    def verify(self, pairs: np.ndarray, ids: np.ndarray, texts: pa.Array, params: DedupParams) -> np.ndarray:
        if len(pairs) == 0:
            return np.zeros(0, dtype=np.float64)
        ray = self._ready()
        corpus = ray.put((np.asarray(ids, dtype=np.int64), texts))
        table = pa.table({"k": np.arange(len(pairs), dtype=np.int64), "a": pairs[:, 0], "b": pairs[:, 1]})
        ds = ray.data.from_arrow(_blocks(table, PAIRS_PER_BLOCK)).map_batches(
            _verify_block, batch_format="pyarrow", batch_size=None,
            fn_kwargs={"corpus": [corpus], "params": params})
        return _collect(ds, "k")["jaccard"].to_numpy().astype(np.float64)
