"""LSH banding: each signature cut into ``bands`` slices of ``rows`` values, each slice hashed
to one key; rows sharing a key in any band are candidate pairs.

Buckets are formed by sorting keys (numpy), the same grouping the Ray engine does as a
groupby, so both engines produce the same pairs.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from .kernels import COMBINE

# A bucket this large is a template family; all-pairs inside it would be quadratic, so its
# members are paired with its first member only (verified pairs still join the cluster).
MAX_BUCKET = 2000


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64 [n, bands]: a multiply-add fold of each band's ``rows`` values."""
    n = sig.shape[0]
    keys = np.zeros((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            block = sig[:, band * rows:(band + 1) * rows]
            key = np.zeros(n, dtype=np.uint64)
            for col in range(rows):
                key = key * COMBINE + block[:, col]
            keys[:, band] = key
    return keys


def bucket_pairs(members: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (smaller id, larger id) of one bucket's sorted member ids."""
    ids = [int(x) for x in members]
    if len(ids) > MAX_BUCKET:
        return [(ids[0], other) for other in ids[1:]]
    return list(combinations(ids, 2))


def candidate_pairs(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Distinct candidate pairs [k, 2] (a < b), sorted, from rows sharing a band key."""
    found: list[tuple[int, int]] = []
    for band in range(keys.shape[1]):
        col = keys[:, band]
        order = np.lexsort((ids, col))  # by key, then id: buckets hold sorted ids
        sorted_keys = col[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            found.extend(bucket_pairs(ids[order[start:start + size]]))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.array(found, dtype=np.int64), axis=0)


def cross_only(pairs: np.ndarray, left: set[int], right: set[int]) -> np.ndarray:
    """Keep pairs with one member in ``left`` and the other in ``right``."""
    keep = [(a in left and b in right) or (a in right and b in left) for a, b in pairs.tolist()]
    return pairs[np.array(keep, dtype=bool)] if len(pairs) else pairs
