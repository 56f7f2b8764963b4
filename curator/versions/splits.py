"""Grouped, deterministic split assignment.

Examples linked by a near-duplicate cluster, a source document (transcript, contract), for
examples without a document the same source record (origin), a user key (``--group-by``), or a
pair relation the leakage check tests (near-duplicate pairs and shared n-grams, passed in as
``links``) form one group: the connected components of the example–key graph (scipy), so
transitively linked examples stay together and a fresh version passes its own gate.

Groups are ordered by SHA-256(seed, group key) (a point in [0, 1)), never shuffled, and laid end
to end by size; a group goes to the split whose cumulative share of the examples covers the
group's midpoint. So the same inputs give the same splits, and the achieved shares miss the
requested ones by at most about half the largest group. A group holding any example that was in
test in an approved earlier version goes to test (and counts against test's share).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

SPLITS = ("train", "validation", "test")
# Which key names a group when it has several: the document first, then the record, then the cluster.
_PRIORITY = {"document": 0, "origin": 1, "cluster": 2, "by": 3}


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
    group_by: str | None = None  # the --group-by value, when given and not NULL


def _keys(m: Member) -> list[tuple[int, str]]:
    keys = [(_PRIORITY["cluster"], f"cluster:{m.cluster_id}")]
    if m.group_by is not None:
        keys.append((_PRIORITY["by"], f"by:{m.group_by}"))
    if m.document_id is not None:
        keys.append((_PRIORITY["document"], f"document:{m.document_id}"))
    else:
        keys.append((_PRIORITY["origin"], f"origin:{m.origin}"))
    return keys


def group_keys(members: list[Member], links: np.ndarray | None = None) -> dict[int, str]:
    """Example id → its group's key (connected components over shared documents/origins/clusters/
    --group-by values, and ``links``: k × 2 example id pairs that must share a group)."""
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
    if links is not None and len(links):
        index = {m.id: i for i, m in enumerate(members)}
        for a, b in links.tolist():
            if a in index and b in index:  # an example–example edge: the two rows of one pair
                rows.append(index[a])
                cols.append(index[b] - n)
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


def place_groups(sizes: dict[str, int], seed: int, shares: dict[str, float], frozen: set[str]) -> dict[str, str]:
    """Group key → split: frozen groups to test, the others in hash order filling the shares."""
    total = sum(sizes.values())
    held = sum(sizes[g] for g in frozen)
    want = {s: shares[s] * total for s in SPLITS}
    want["test"] = max(0.0, want["test"] - held)
    scale = (total - held) / (sum(want.values()) or 1.0)
    edges = np.cumsum([want[s] * scale for s in SPLITS])
    placed = {g: "test" for g in frozen}
    start = 0
    for g in sorted((g for g in sizes if g not in frozen), key=lambda g: (position(g, seed), g)):
        middle = start + sizes[g] / 2
        placed[g] = SPLITS[min(int(np.searchsorted(edges, middle, side="right")), len(SPLITS) - 1)]
        start += sizes[g]
    return placed


def assign(members: list[Member], seed: int, shares: dict[str, float], frozen_test: set[int],
           links: np.ndarray | None = None) -> dict[int, tuple[str, str]]:
    """Example id → (split, group_key). Groups touching ``frozen_test`` go to test whole."""
    keys = group_keys(members, links)
    sizes: dict[str, int] = {}
    for key in keys.values():
        sizes[key] = sizes.get(key, 0) + 1
    placed = place_groups(sizes, seed, shares, {keys[i] for i in frozen_test if i in keys})
    return {i: (placed[key], key) for i, key in keys.items()}
