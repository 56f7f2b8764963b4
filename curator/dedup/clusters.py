"""Clusters of verified near-duplicate pairs, and the decision for each member.

The representative is chosen by a fixed rule, in order: a steward's choice, an approved
example, the longest text, the earliest row (smallest id). Every member gets a decision row:
``kept`` for the representative, ``duplicate`` (of the representative, with its Jaccard) for
the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class RowFacts:
    row_id: int
    n_chars: int
    approved: bool
    chosen: bool  # a steward made it the representative


def clusters_of(edges: np.ndarray) -> list[list[int]]:
    """Connected components (as sorted id lists, ordered by smallest id) of the edge list [k, 2]."""
    if len(edges) == 0:
        return []
    nodes, index = np.unique(edges, return_inverse=True)
    index = index.reshape(edges.shape)
    graph = coo_matrix((np.ones(len(edges)), (index[:, 0], index[:, 1])), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for node, label in zip(nodes.tolist(), labels.tolist()):
        groups.setdefault(label, []).append(node)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def representative(members: list[RowFacts]) -> tuple[RowFacts, str]:
    """The member to keep and the rule that picked it."""
    best = min(members, key=lambda r: (not r.chosen, not r.approved, -r.n_chars, r.row_id))
    others = [m for m in members if m is not best]
    if best.chosen:
        return best, "chosen by a steward"
    if best.approved and not all(m.approved for m in others):
        return best, "approved example"
    if all(best.n_chars > m.n_chars for m in others):
        return best, "longest text"
    return best, "earliest row among the longest"
