"""``curator dedup --method semantic``: paraphrases that share meaning but not wording.

Every row of the target is embedded (``embed``: cached by model and text hash, so a re-run embeds
only new texts); pairs at cosine ≥ ``cosine`` are found exactly (blockwise dot products) up to
``exact_max`` rows and with a usearch HNSW index above (``bench/semantic.py``: recall against
brute force and cost at 10k and 100k rows), every index candidate re-scored exactly, so
precision is exact. Measured on this 2-core machine at 100k rows of 64 dims, exact search took
158 s and the HNSW indexes longer (usearch 327 s, faiss 185 s, both at recall 1.000; the machine
was shared with a test run), so exact search is the default up to 200,000 rows. Pairs are stored with their cosine; clusters (connected components) get
decision rows by MinHash's representative rule (``clusters.representative``: a steward's keep,
then approved, longest, earliest), so both methods pick the same row and a steward's ``keep``
works for both. Decisions sit in ``semantic_decisions``: MinHash's latest run stays its own, and a
row is a duplicate when either method's latest run says so (``example_dedup``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Literal

import duckdb
import numpy as np
import orjson
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from ..audit import record_audit
from ..errors import InputError
from ..sqlfiles import query
from ..store import transaction
from .clusters import clusters_of, representative
from .embed import CacheOnly, Embedder, embed_cached
from .run import _row_facts, _target

BLOCK = 2048  # rows per block of the exact search: a 2048 × n float32 score block at a time
NEIGHBOURS = 64  # neighbours asked of the approximate index per row


class SemanticParams(BaseModel):
    """One small validated object, recorded with each run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cosine: float = Field(0.9, gt=0.0, le=1.0, description="cosine at or above which rows are paraphrases")
    index: Literal["auto", "exact", "usearch"] = Field("auto", description="exact search, an HNSW index, or "
                                                       "exact up to exact_max rows and HNSW above")
    exact_max: int = Field(200_000, ge=1, description="largest set searched exactly under index=auto")


def _exact_pairs(vectors: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Every (i < j) with vectors[i]·vectors[j] ≥ threshold, by blocks of rows."""
    firsts, seconds, scores = [], [], []
    n = len(vectors)
    for start in range(0, n, BLOCK):
        block = vectors[start:start + BLOCK] @ vectors[start:].T  # only j ≥ start: the upper triangle
        i, j = np.nonzero(block >= threshold)
        keep = j > i  # block column j is row start + j; block row i is row start + i
        firsts.append(i[keep] + start)
        seconds.append(j[keep] + start)
        scores.append(block[i[keep], j[keep]])
    if not firsts:
        return np.empty((0, 2), np.int64), np.empty(0, np.float32)
    return np.stack([np.concatenate(firsts), np.concatenate(seconds)], axis=1).astype(np.int64), np.concatenate(scores)


def _index_pairs(vectors: np.ndarray, threshold: float, neighbours: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs from a usearch HNSW index (each row's nearest ``neighbours``), re-scored exactly."""
    try:
        from usearch.index import Index
    except ImportError:
        raise InputError('the approximate index needs usearch: `pip install -e ".[semantic]"`, or --index exact') from None
    n, dim = vectors.shape
    index = Index(ndim=dim, metric="ip", dtype="f32", connectivity=16, expansion_add=128, expansion_search=128)
    keys = np.arange(n, dtype=np.uint64)
    index.add(keys, vectors, threads=0)
    found = index.search(vectors, min(neighbours + 1, n), threads=0)
    rows = np.repeat(np.arange(n, dtype=np.int64), found.keys.shape[1])
    cols = found.keys.astype(np.int64).ravel()
    valid = (cols >= 0) & (cols < n) & (cols != rows)
    a, b = np.minimum(rows[valid], cols[valid]), np.maximum(rows[valid], cols[valid])
    pairs = np.unique(np.stack([a, b], axis=1), axis=0) if len(a) else np.empty((0, 2), np.int64)
    score = np.einsum("ij,ij->i", vectors[pairs[:, 0]], vectors[pairs[:, 1]]) if len(pairs) else np.empty(0, np.float32)
    keep = score >= threshold
    return pairs[keep], score[keep]


def similar_pairs(vectors: np.ndarray, threshold: float, index: str = "auto",
                  exact_max: int = 200_000) -> tuple[np.ndarray, np.ndarray, str]:
    """(row-position pairs k × 2 with a < b, exact cosine per pair, the search used)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    use = index if index != "auto" else ("exact" if len(vectors) <= exact_max else "usearch")
    if len(vectors) < 2:
        return np.empty((0, 2), np.int64), np.empty(0, np.float32), use
    pairs, score = _exact_pairs(vectors, threshold) if use == "exact" else _index_pairs(vectors, threshold)
    return pairs, score, use


def cross_similar(left: np.ndarray, right: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(positions k × 2 as (left, right), cosine) of every cross pair at or above ``threshold``."""
    firsts, seconds, scores = [], [], []
    for start in range(0, len(left), BLOCK):
        block = left[start:start + BLOCK] @ right.T
        i, j = np.nonzero(block >= threshold)
        firsts.append(i + start)
        seconds.append(j)
        scores.append(block[i, j])
    if not firsts:
        return np.empty((0, 2), np.int64), np.empty(0, np.float32)
    return np.stack([np.concatenate(firsts), np.concatenate(seconds)], axis=1).astype(np.int64), np.concatenate(scores)


@dataclass
class SemanticReport:
    run_id: int
    target: str
    model: str
    cosine: float
    index: str = ""
    rows_total: int = 0
    rows_embedded: int = 0  # texts sent to the model in this run (the rest came from the cache)
    cache_hits: int = 0
    rows_without_vector: int = 0  # blocked by the PII policy: never compared
    duplicate_pairs: int = 0
    clusters: int = 0
    rows_marked_duplicate: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _texts(conn: duckdb.DuckDBPyConnection, target: str) -> tuple[np.ndarray, list[str]]:
    table = conn.sql(query(f"semantic.texts_{target}s")).to_arrow_table()
    return table["id"].to_numpy().astype(np.int64), [t or "" for t in table["text"].to_pylist()]


def decide(conn, target: str, clusters: list[list[int]], vector_of: dict[int, np.ndarray]) -> list[dict]:
    """A decision row per member: MinHash's representative rule, the cosine with the representative."""
    facts = _row_facts(conn, target, [i for c in clusters for i in c])
    decisions = []
    for members in clusters:
        rep, rule = representative([facts[i] for i in members])
        for row in members:
            dup = row != rep.row_id
            decisions.append({"row_id": row, "cluster_id": members[0], "decision": "duplicate" if dup else "kept",
                              "duplicate_of": rep.row_id if dup else None, "rule": rule,
                              "cosine": float(vector_of[row] @ vector_of[rep.row_id]) if dup else None})
    return decisions


DECISIONS = pa.schema([("row_id", pa.int64()), ("cluster_id", pa.int64()), ("decision", pa.string()),
                       ("duplicate_of", pa.int64()), ("rule", pa.string()), ("cosine", pa.float64())])


def run_semantic(conn: duckdb.DuckDBPyConnection, target_name: str, params: SemanticParams, embedder: Embedder, *,
                 actor: str) -> SemanticReport:
    target = _target(target_name)
    report = SemanticReport(0, target_name, embedder.key, params.cosine)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[stage] = round(now - clock, 3)
        clock = now

    ids, texts = _texts(conn, target)
    report.rows_total = len(ids)
    vectors, mask, stats = embed_cached(conn, embedder, texts)
    del texts
    report.rows_embedded, report.cache_hits = stats.embedded, stats.cached
    report.rows_without_vector = int((~mask).sum())
    lap("embed")
    ids, vectors = ids[mask], vectors[mask]
    pairs, score, report.index = similar_pairs(vectors, params.cosine, params.index, params.exact_max)
    edges = ids[pairs] if len(pairs) else np.empty((0, 2), np.int64)
    report.duplicate_pairs = len(edges)
    lap("search")
    clusters = clusters_of(edges)
    members = {i for c in clusters for i in c}
    position = {int(i): k for k, i in enumerate(ids.tolist()) if int(i) in members}
    decisions = decide(conn, target, clusters, {i: vectors[k] for i, k in position.items()})
    report.clusters = len(clusters)
    report.rows_marked_duplicate = sum(d["decision"] == "duplicate" for d in decisions)
    lap("cluster")
    run_params = params.model_dump() | {"model": embedder.key, "index_used": report.index}
    with transaction(conn):
        report.run_id = conn.execute(query("semantic.insert_run"), {
            "target": target, "model": embedder.key, "params": orjson.dumps(run_params).decode(), "actor": actor,
            "counts": orjson.dumps(report.as_dict()).decode()}).fetchone()[0]
        if len(edges):
            conn.register("staged_pairs", pa.table({"a_id": edges[:, 0], "b_id": edges[:, 1],
                                                    "cosine": score.astype(np.float64)}))
            conn.execute(query("semantic.insert_pairs"), {"run_id": report.run_id})
            conn.unregister("staged_pairs")
        if decisions:
            conn.register("staged_decisions", pa.Table.from_pylist(decisions, schema=DECISIONS))
            conn.execute(query("semantic.insert_decisions"), {"run_id": report.run_id, "target": target})
            conn.unregister("staged_decisions")
        record_audit(conn, actor, "dedup.semantic", f"{target}:semantic-run:{report.run_id}",
                     {k: v for k, v in report.as_dict().items() if k != "seconds"})
    lap("write")
    return report


def latest_run(conn: duckdb.DuckDBPyConnection, target: str) -> dict | None:
    found = conn.execute(query("semantic.latest_run"), {"target": target}).fetchall()
    return {"id": found[0][0], "model": found[0][1], "params": orjson.loads(found[0][2])} if found else None


def cluster(conn: duckdb.DuckDBPyConnection, target: str, run_id: int, row_id: int) -> list[dict]:
    cur = conn.execute(query("semantic.cluster_of"), {"run_id": run_id, "target": target, "row_id": row_id})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def explain(conn: duckdb.DuckDBPyConnection, target_name: str, row_id: int) -> dict:
    """A row's semantic cluster in the latest semantic run: members with their cosine to the
    representative, the stored pairwise cosines among them, and the rule that chose the representative."""
    from ..store import rows

    target = _target(target_name)
    run = latest_run(conn, target)
    if run is None:
        raise InputError(f"no semantic dedup run for {target}s yet: run `curator dedup --method semantic` first")
    members = cluster(conn, target, run["id"], row_id)
    if not members and not rows(conn, f"dedup.row_info_{target}s", {"ids": [row_id]}):
        raise InputError(f"no {target} with id {row_id}")
    base = {"method": "semantic", "target": target, "row_id": row_id, "run_id": run["id"], "model": run["model"],
            "params": run["params"],
            "file_copies": [{k: v for k, v in r.items() if k != "row_id"}  # as MinHash's explain shows them
                            for r in rows(conn, f"dedup.file_copies_{target}s", {"ids": [row_id]})]}
    if not members:
        return base | {"cluster": None, "why": f"not a paraphrase of any row at cosine ≥ {run['params']['cosine']} "
                                               f"({run['model']})"}
    ids = [m["row_id"] for m in members]
    info = {r["id"]: r for r in rows(conn, f"dedup.row_info_{target}s", {"ids": ids})}
    rep = next(m for m in members if m["decision"] == "kept")
    pairs = conn.execute(query("semantic.pairs_among"), {"run_id": run["id"], "ids": ids}).fetchall()
    return base | {"cluster": members[0]["cluster_id"], "representative": rep["row_id"], "why": rep["rule"],
                   "members": [m | {"origin": info[m["row_id"]]["origin"], "n_chars": info[m["row_id"]]["n_chars"],
                                    "preview": info[m["row_id"]]["preview"]} for m in members],
                   "pairwise": [{"a": a, "b": b, "cosine": round(c, 4)} for a, b, c in pairs]}


def keep(conn: duckdb.DuckDBPyConnection, target: str, row_id: int) -> tuple[int | None, list[int]]:
    """Make ``row_id`` the representative of its cluster in the latest semantic run (inside the
    caller's transaction): (the run's id, the other members), or (None, []) when it is in none."""
    run = latest_run(conn, target)
    members = cluster(conn, target, run["id"], row_id) if run else []
    if not members:
        return None, []
    others = [m["row_id"] for m in members if m["row_id"] != row_id]
    texts = dict(zip(*_texts_of(conn, target, [row_id] + others)))
    embedder = CacheOnly(run["model"], "run `curator dedup --method semantic` again")
    vecs, _, _ = embed_cached(conn, embedder, [texts.get(i, "") for i in [row_id] + others])
    for other, v in zip(others, vecs[1:]):
        conn.execute(query("semantic.update_decision"), {"run_id": run["id"], "target": target, "row_id": other,
                                                         "decision": "duplicate", "duplicate_of": row_id,
                                                         "cosine": float(v @ vecs[0]), "rule": "chosen by a steward"})
    conn.execute(query("semantic.update_decision"), {"run_id": run["id"], "target": target, "row_id": row_id,
                                                     "decision": "kept", "duplicate_of": None, "cosine": None,
                                                     "rule": "chosen by a steward"})
    return run["id"], others


def _texts_of(conn, target: str, ids: list[int]) -> tuple[list[int], list[str]]:
    from .run import texts_for

    found, texts = texts_for(conn, target, np.array(ids, dtype=np.int64))
    return found.tolist(), [t or "" for t in texts.to_pylist()]
