"""Leakage check: every pair across two sets of rows (e.g. train and test) whose exact Jaccard
is at or above a threshold. The dataset-version step refuses approval while any remains."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..store import arrow
from .banding import cross_only
from .engines import get_engine
from .params import DedupParams
from .run import _target, signatures_matrix, verified
from .signing import hash_missing


@dataclass(frozen=True)
class CrossPair:
    left: int
    right: int
    jaccard: float
    estimated: bool


def cross_pairs(conn: duckdb.DuckDBPyConnection, target_name: str, left: list[int], right: list[int],
                params: DedupParams | None = None, threshold: float | None = None,
                engine: str = "local") -> list[CrossPair]:
    """Pairs (left row, right row) with Jaccard ≥ ``threshold`` (default: the params' threshold).

    Rows without a signature are hashed first; pairs already verified are not verified again.
    """
    params = params or DedupParams()
    if threshold is not None:  # band for the threshold asked about (same signatures: same key)
        params = DedupParams(**{**params.model_dump(), "threshold": threshold})
    cut = params.threshold
    target = _target(target_name)
    eng = get_engine(engine)
    hash_missing(conn, target, params, eng)
    wanted = sorted(set(left) | set(right))
    ids, sig = signatures_matrix(arrow(conn, "dedup.signatures_of",
                                       {"target": target, "params_key": params.key, "ids": wanted}), params.num_perm)
    candidates = cross_only(eng.candidate_pairs(ids, sig, params), set(left), set(right))
    if not len(candidates):
        return []
    jaccard, estimated, _, _ = verified(conn, target, params, eng, candidates, ids, sig)
    left_set, right_set = set(left), set(right)
    found = []
    near = jaccard >= cut
    for (a, b), j, est in zip(candidates[near].tolist(), jaccard[near].tolist(), estimated[near].tolist()):
        l, r = (a, b) if a in left_set and b in right_set else (b, a)
        found.append(CrossPair(l, r, j, est))
    return sorted(found, key=lambda p: (-p.jaccard, p.left, p.right))
