"""``curator dedup``: hash what has no signature, band everything, verify new candidate pairs,
cluster, decide. Each stage is timed; the store is read and written only here.

Incremental by construction: signatures are stored per parameter set and computed only for
rows without one; verified pairs are stored with their exact Jaccard and never verified
again; clusters are rebuilt from all stored signatures (banding is cheap), so a new row is
compared with every stored row, whatever version or batch it came from.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from ..audit import record_audit
from ..errors import ConflictError, InputError
from ..sqlfiles import query
from ..store import arrow, transaction
from .banding import pair_keys
from .clusters import RowFacts, clusters_of, representative
from .engines import Engine, get_engine
from .params import TARGETS, DedupParams, IncompatibleSignatures
from .signing import sign_missing, sorted_by_id
from .verify import worth_verifying

VERIFY_PAIRS = 50_000  # candidate pairs verified per batch: at most 100k texts re-read at once
SIGNATURE_BATCH = 65_536  # stored signatures per record batch while loading the matrix
BUFFER_POOL = "1GB"  # DuckDB's memory limit during a run, where the store has DuckDB's default


@dataclass
class DedupReport:
    run_id: int
    target: str
    params_key: str
    engine: str
    bands: int
    rows: int
    rows_total: int = 0
    rows_hashed: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    cached_pairs: int = 0
    skipped_pairs: int = 0  # candidates whose signatures rule out the threshold (verify.min_matches)
    estimated_pairs: int = 0
    duplicate_pairs: int = 0
    clusters: int = 0
    rows_marked_duplicate: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _target(name: str) -> str:
    if name not in TARGETS:
        raise InputError(f"unknown dedup target {name!r}; choose {' or '.join(TARGETS)}")
    return TARGETS[name]


def signatures_matrix(table: pa.Table, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, uint64 [n, num_perm]) from stored (row_id, hashvalues) rows, without per-row copies.

    Chunk by chunk: combining them would overflow one binary array's 32-bit offsets past 2 GiB
    (about 2 million signatures of 128 values). Every blob must be ``num_perm`` values wide."""
    ids = table["row_id"].to_numpy().astype(np.int64)
    sig = np.empty((len(ids), num_perm), dtype=np.uint64)
    width, done = num_perm * 8, 0
    for chunk in table["hashvalues"].chunks:
        n = len(chunk)
        if n == 0:
            continue
        _, offsets, data = chunk.buffers()
        kind = np.int64 if pa.types.is_large_binary(chunk.type) else np.int32
        offs = np.frombuffer(offsets, dtype=kind)[chunk.offset:chunk.offset + n + 1]
        if np.any(np.diff(offs) != width):
            raise IncompatibleSignatures(f"stored signatures are not {num_perm} values wide: they were made "
                                         "with other parameters; compare only signatures of one params_key")
        sig[done:done + n] = np.frombuffer(data, dtype="<u8", count=n * num_perm, offset=int(offs[0])).reshape(n, num_perm)
        done += n
    return ids, sig


@contextmanager
def bounded_buffer_pool(conn: duckdb.DuckDBPyConnection, limit: str = BUFFER_POOL) -> Iterator[None]:
    """Cap DuckDB's buffer pool for the run, where it has DuckDB's default (80 % of RAM).

    A run reads every text once to sign it and the candidates' texts again to verify them; DuckDB
    keeps each block it reads cached up to its memory limit, so without a cap the process would
    grow with the table (several GB at a million documents) for blocks that are read once. A
    limit someone set on purpose is left alone; the default is restored (RESET) afterwards."""
    setting = "SELECT current_setting('memory_limit')"
    default = duckdb.connect().execute(setting).fetchall()[0][0]
    if conn.execute(setting).fetchall()[0][0] != default:
        yield
        return
    conn.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        conn.execute("RESET memory_limit")


def _stored_signatures(conn: duckdb.DuckDBPyConnection, target: str, params: DedupParams) -> int:
    return conn.execute(query("dedup.count_signatures"), {"target": target, "params_key": params.key}).fetchall()[0][0]


def load_signatures(conn: duckdb.DuckDBPyConnection, target: str, params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
    """(sorted ids, uint64 [n, num_perm]) of every stored signature of ``params``, streamed in
    record batches into one preallocated matrix, so the peak is the matrix plus one batch
    (reading the whole result first would hold every signature twice)."""
    key = {"target": target, "params_key": params.key}
    with conn.cursor() as cur:
        n = _stored_signatures(cur, target, params)
        ids = np.empty(n, dtype=np.int64)
        sig = np.empty((n, params.num_perm), dtype=np.uint64)
        done = 0
        reader = cur.sql(query("dedup.load_signatures"), params=key).to_arrow_reader(SIGNATURE_BATCH)
        for batch in reader:
            if batch.num_rows and done + batch.num_rows <= n:
                part_ids, part = signatures_matrix(pa.Table.from_batches([batch]), params.num_perm)
                ids[done:done + len(part_ids)], sig[done:done + len(part_ids)] = part_ids, part
            done += batch.num_rows
    if done != n:  # written to while read: the store is owned by one writer, so this is a bug
        raise ConflictError(f"expected {n} signatures, read {done}: the store changed during the run")
    return sorted_by_id(ids, sig)


def _texts(conn: duckdb.DuckDBPyConnection, target: str, ids: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """(ids, texts) of the rows ``ids`` that are in the store, in the order the scan found them."""
    ids = np.asarray(ids, dtype=np.int64)
    if not len(ids):
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    table = arrow(conn, f"dedup.texts_{target}s", {"ids": ids.tolist(), "lo": int(ids.min()), "hi": int(ids.max())})
    return table["id"].to_numpy().astype(np.int64), table["text"].combine_chunks()


def texts_for(conn: duckdb.DuckDBPyConnection, target: str, ids: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """(sorted ids, texts) of the rows ``ids`` that are in the store."""
    found, texts = _texts(conn, target, ids)
    if len(found) > 1 and np.any(found[1:] < found[:-1]):
        order = np.argsort(found, kind="stable")
        found, texts = found[order], texts.take(pa.array(order))
    return found, texts


def verify_pairs(conn, target: str, pairs: np.ndarray, engine: Engine, params: DedupParams,
                 sig_of: Callable[[int], np.ndarray] | None = None,
                 progress: Callable[[str, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(jaccard, estimated) for ``pairs``: exact from the texts; from the signatures, flagged,
    for a row whose text is no longer in the store.

    In batches of ``VERIFY_PAIRS`` pairs, each re-reading just the texts it names, so memory is
    bounded by one batch's texts and shingle sets whatever the number of candidates."""
    jaccard = np.zeros(len(pairs), dtype=np.float64)
    estimated = np.zeros(len(pairs), dtype=bool)
    for start in range(0, len(pairs), VERIFY_PAIRS):
        part = pairs[start:start + VERIFY_PAIRS]
        ids, texts = _texts(conn, target, np.unique(part))  # unsorted: sorting would copy the texts
        present = np.isin(part, ids).all(axis=1)
        jac = np.zeros(len(part), dtype=np.float64)
        jac[present] = engine.verify(part[present], ids, texts, params)
        del texts
        est = np.zeros(len(part), dtype=bool)
        for k in np.flatnonzero(~present):
            if sig_of is None:
                raise InputError(f"{target} rows {part[k].tolist()} have no text and no signature to estimate from")
            a, b = sig_of(int(part[k, 0])), sig_of(int(part[k, 1]))
            jac[k] = float(np.count_nonzero(a == b)) / len(a)
            est[k] = True
        jaccard[start:start + len(part)], estimated[start:start + len(part)] = jac, est
        if progress:
            progress("verify", start + len(part))
    return jaccard, estimated


def _known_pairs(conn, target: str, params: DedupParams, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(jaccard, estimated) aligned with ``candidates`` (sorted); NaN where never verified."""
    jaccard = np.full(len(candidates), np.nan)
    estimated = np.zeros(len(candidates), dtype=bool)
    if not len(candidates):
        return jaccard, estimated
    staged = pa.table({"a_id": candidates[:, 0], "b_id": candidates[:, 1]})
    with conn.cursor() as cur:
        cur.register("staged_candidates", staged)
        found = cur.sql(query("dedup.cached_pairs"), params={"target": target, "params_key": params.key}).to_arrow_table()
    if found.num_rows:
        at = np.searchsorted(pair_keys(candidates[:, 0], candidates[:, 1]),
                             pair_keys(found["a_id"].to_numpy(), found["b_id"].to_numpy()))
        jaccard[at] = found["jaccard"].to_numpy()
        estimated[at] = found["estimated"].to_numpy()
    return jaccard, estimated


def _store_pairs(conn, target: str, params: DedupParams, pairs: np.ndarray, jaccard: np.ndarray,
                 estimated: np.ndarray) -> None:
    staged = pa.table({"a_id": pairs[:, 0], "b_id": pairs[:, 1], "jaccard": jaccard, "estimated": estimated})
    with transaction(conn):
        conn.register("staged_pairs", staged)
        conn.execute(query("dedup.insert_pairs"), {"target": target, "params_key": params.key})
        conn.unregister("staged_pairs")


def verified(conn, target: str, params: DedupParams, engine: Engine, candidates: np.ndarray, ids: np.ndarray,
             sig: np.ndarray, progress: Callable[[str, int], None] | None = None
             ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(Jaccard, estimated-flag) aligned with ``candidates``, how many were verified now, and how
    many were skipped: pairs whose signatures put a Jaccard ≥ threshold out of reach (see
    ``verify.min_matches``) get NaN, are not stored, and so are looked at again by a later run
    at another threshold. Verifications are stored, so no pair is ever verified twice."""
    jaccard, estimated = _known_pairs(conn, target, params, candidates)
    todo = np.isnan(jaccard)
    skipped = 0
    if todo.any():
        position = np.searchsorted(ids, candidates[todo])
        worth = worth_verifying(sig, position[:, 0], position[:, 1], params)
        skipped = int((~worth).sum())
        todo[np.flatnonzero(todo)[~worth]] = False
    if todo.any():
        row_of = {int(i): k for k, i in enumerate(ids)}
        jaccard[todo], estimated[todo] = verify_pairs(conn, target, candidates[todo], engine, params,
                                                      lambda i: sig[row_of[i]], progress)
        _store_pairs(conn, target, params, candidates[todo], jaccard[todo], estimated[todo])
    return jaccard, estimated, int(todo.sum()), skipped


def _row_facts(conn, target: str, ids: list[int]) -> dict[int, RowFacts]:
    rows = conn.execute(query(f"dedup.row_facts_{target}s"), {"ids": ids}).fetchall()
    return {r[0]: RowFacts(r[0], int(r[1] or 0), bool(r[2]), bool(r[3])) for r in rows}


def decide(conn, target: str, clusters: list[list[int]], known: dict, engine: Engine,
           params: DedupParams) -> list[dict]:
    """A decision row per cluster member (see ``clusters``)."""
    facts = _row_facts(conn, target, [i for c in clusters for i in c])
    decisions, missing = [], []
    for members in clusters:
        rep, rule = representative([facts[i] for i in members])
        for row in members:
            pair = (min(row, rep.row_id), max(row, rep.row_id))
            if row != rep.row_id and pair not in known:
                missing.append(pair)
            decisions.append({"row_id": row, "cluster_id": members[0],
                              "decision": "kept" if row == rep.row_id else "duplicate",
                              "duplicate_of": None if row == rep.row_id else rep.row_id, "rule": rule, "pair": pair})
    if missing:  # members joined through a third row: their Jaccard with the representative
        pairs = np.array(sorted(set(missing)), dtype=np.int64)
        jac, est = verify_pairs(conn, target, pairs, engine, params)
        known = {**known, **{tuple(p): (j, e) for p, j, e in zip(pairs.tolist(), jac.tolist(), est.tolist())}}
    for d in decisions:
        pair = d.pop("pair")
        d["jaccard"] = None if d["decision"] == "kept" else known[pair][0]
    return decisions


def run_dedup(conn: duckdb.DuckDBPyConnection, target_name: str, params: DedupParams, *, actor: str,
              engine: str = "local", ray_address: str | None = None,
              progress: Callable[[str, int], None] | None = None) -> DedupReport:
    with bounded_buffer_pool(conn):
        return _run(conn, target_name, params, actor, engine, ray_address, progress)


def _all_signatures(conn, target: str, params: DedupParams, eng: Engine, report: DedupReport,
                    progress: Callable[[str, int], None] | None) -> tuple[np.ndarray, np.ndarray]:
    """Sign what has no signature; on a later run, load every stored signature instead."""
    report.rows_hashed, ids, sig = sign_missing(conn, target, params, eng, progress)
    if _stored_signatures(conn, target, params) != len(ids):  # not a first run: the store has them all
        del ids, sig
        ids, sig = load_signatures(conn, target, params)
    report.rows_total = len(ids)
    return ids, sig


def _cluster(conn, target: str, params: DedupParams, eng: Engine, report: DedupReport, candidates: np.ndarray,
             jaccard: np.ndarray, estimated: np.ndarray) -> list[dict]:
    near = jaccard >= params.threshold
    edges = candidates[near]
    known = {(a, b): (j, e) for (a, b), j, e in zip(edges.tolist(), jaccard[near].tolist(), estimated[near].tolist())}
    report.duplicate_pairs = len(edges)
    clusters = clusters_of(edges)
    decisions = decide(conn, target, clusters, known, eng, params)
    report.clusters = len(clusters)
    report.rows_marked_duplicate = sum(d["decision"] == "duplicate" for d in decisions)
    return decisions


def _write_run(conn, target: str, params: DedupParams, eng: Engine, actor: str, report: DedupReport,
               decisions: list[dict]) -> None:
    run_params = params.model_dump() | {"bands": report.bands, "rows": report.rows}
    with transaction(conn):
        report.run_id = conn.execute(query("dedup.insert_run"), {
            "target": target, "params_key": params.key, "params": orjson.dumps(run_params).decode(),
            "engine": eng.name, "actor": actor, "counts": orjson.dumps(report.as_dict()).decode()}).fetchone()[0]
        if decisions:
            staged = pa.Table.from_pylist(decisions, schema=DECISIONS)
            conn.register("staged_decisions", staged)
            conn.execute(query("dedup.insert_decisions"), {"run_id": report.run_id, "target": target})
            conn.unregister("staged_decisions")
        record_audit(conn, actor, "dedup.run", f"{target}:run:{report.run_id}",
                     {k: v for k, v in report.as_dict().items() if k != "seconds"})


DECISIONS = pa.schema([("row_id", pa.int64()), ("cluster_id", pa.int64()), ("decision", pa.string()),
                       ("duplicate_of", pa.int64()), ("rule", pa.string()), ("jaccard", pa.float64())])


def _run(conn, target_name: str, params: DedupParams, actor: str, engine: str, ray_address: str | None,
         progress: Callable[[str, int], None] | None) -> DedupReport:
    target = _target(target_name)
    eng = get_engine(engine, ray_address)
    report = DedupReport(0, target_name, params.key, eng.name, *params.bands_rows)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[stage] = round(now - clock, 3)
        clock = now

    ids, sig = _all_signatures(conn, target, params, eng, report, progress)
    lap("hash")
    candidates = eng.candidate_pairs(ids, sig, params)
    report.candidate_pairs = len(candidates)
    lap("band")
    jaccard, estimated, report.verified_pairs, report.skipped_pairs = verified(
        conn, target, params, eng, candidates, ids, sig, progress)
    report.cached_pairs = len(candidates) - report.verified_pairs - report.skipped_pairs
    report.estimated_pairs = int(estimated.sum())
    del ids, sig
    lap("verify")
    decisions = _cluster(conn, target, params, eng, report, candidates, jaccard, estimated)
    lap("cluster")
    _write_run(conn, target, params, eng, actor, report, decisions)
    lap("write")
    return report
