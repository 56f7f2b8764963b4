"""Grouped, deterministic split assignment.

Examples linked by a near-duplicate cluster, a source document (transcript, contract) or, for
examples without a document, the same source record (origin) form one group: the connected
components of the example–key graph (scipy), so transitively linked examples stay together.
A group's split is a function of its key and the seed (SHA-256 → a point in [0, 1) → the split
whose cumulative share covers it), never a shuffle, so the same inputs give the same splits.
A group holding any example that was in test in an approved earlier version goes to test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

SPLITS = ("train", "validation", "test")
# Which key names a group when it has several: the document first, then the record, then the cluster.
_PRIORITY = {"document": 0, "origin": 1, "cluster": 2}


def parse_split(spec: str | dict | tuple) -> dict[str, float]:
    """``"0.8,0.1,0.1"`` (train, validation, test) → shares that sum to 1."""
    if isinstance(spec, dict):
        parts = [spec.get(s, 0.0) for s in SPLITS]
    else:
        parts = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        values = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise InputError(f"--split expects three numbers train,validation,test (e.g. 0.8,0.1,0.1), got {spec!r}") from None
    if len(values) != 3 or min(values) < 0 or abs(sum(values) - 1.0) > 1e-6 or values[0] == 0:
        raise InputError(f"--split needs three non-negative shares train,validation,test summing to 1 with "
                         f"train > 0, got {spec!r}")
    return dict(zip(SPLITS, (round(v, 6) for v in values)))


@dataclass(frozen=True)
class Member:
    id: int
    cluster_id: int
    document_id: int | None
    origin: str


def _keys(m: Member) -> list[tuple[int, str]]:
    keys = [(_PRIORITY["cluster"], f"cluster:{m.cluster_id}")]
    if m.document_id is not None:
        keys.append((_PRIORITY["document"], f"document:{m.document_id}"))
    else:
        keys.append((_PRIORITY["origin"], f"origin:{m.origin}"))
    return keys


def group_keys(members: list[Member]) -> dict[int, str]:
    """Example id → its group's key (connected components over shared documents/origins/clusters)."""
    from scipy.sparse import coo_matrix  # here, not at module top: the API imports this module
    from scipy.sparse.csgraph import connected_components

    key_index: dict[tuple[int, str], int] = {}
    rows, cols = [], []
    for i, m in enumerate(members):
        for key in _keys(m):
            rows.append(i)
            cols.append(key_index.setdefault(key, len(key_index)))
    n, k = len(members), len(key_index)
    if n == 0:
        return {}
    # Bipartite graph examples ↔ keys as one square adjacency: nodes 0..n-1 examples, n.. keys.
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (np.array(rows), np.array(cols) + n)), shape=(n + k, n + k))
    _, labels = connected_components(graph, directed=False)
    best: dict[int, tuple[int, str]] = {}
    for key, j in key_index.items():
        label = labels[n + j]
        if label not in best or _order(key) < _order(best[label]):
            best[label] = key
    return {m.id: best[labels[i]][1] for i, m in enumerate(members)}


def _order(key: tuple[int, str]) -> tuple:
    priority, name = key
    kind, _, value = name.partition(":")
    return (priority, int(value) if value.isdigit() else 0, value)


def position(group_key: str, seed: int) -> float:
    """A point in [0, 1) fixed by the group key and the seed."""
    digest = hashlib.sha256(f"{seed}\x00{group_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(group_key: str, seed: int, shares: dict[str, float]) -> str:
    x, edge = position(group_key, seed), 0.0
    for split in SPLITS:
        edge += shares[split]
        if x < edge:
            return split
    return next(s for s in reversed(SPLITS) if shares[s] > 0)


def assign(members: list[Member], seed: int, shares: dict[str, float], frozen_test: set[int]) -> dict[int, tuple[str, str]]:
    """Example id → (split, group_key). Groups touching ``frozen_test`` go to test whole."""
    keys = group_keys(members)
    frozen_groups = {keys[i] for i in frozen_test if i in keys}
    return {i: ("test" if key in frozen_groups else split_of(key, seed, shares), key) for i, key in keys.items()}
