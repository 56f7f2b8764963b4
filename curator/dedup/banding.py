"""LSH banding: each signature cut into ``bands`` slices of ``rows`` values, each slice hashed
to one key; rows sharing a key in any band are candidate pairs.

Buckets are formed by sorting keys (numpy), the same grouping the Ray engine does as a
groupby, so both engines produce the same pairs.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..errors import TooLargeError
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


def pair_keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs packed into one int64 each (row ids fit in 31 bits), so set operations are 1-D."""
    return (a.astype(np.int64) << 32) | b.astype(np.int64)


def unpack_keys(keys: np.ndarray) -> np.ndarray:
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1).astype(np.int64)


def _all_pairs(sorted_ids: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Packed keys of every pair inside each run ``sorted_ids[start:start+size]``, vectorised."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    pos = np.repeat(starts, sizes) + offsets
    later = np.repeat(starts + sizes, sizes) - pos - 1  # members after each one in its run
    left = np.repeat(pos, later)
    right = np.repeat(pos + 1, later) + (np.arange(later.sum()) - np.repeat(np.cumsum(later) - later, later))
    return pair_keys(sorted_ids[left], sorted_ids[right])


def candidate_pairs(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Distinct candidate pairs [k, 2] (a < b), sorted, from rows sharing a band key."""
    if len(ids) and int(ids.max()) >= 2**31:
        raise TooLargeError("row ids beyond 2^31 are not supported by the pair packing")
    found = []
    ascending = len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1]))
    for band in range(keys.shape[1]):
        col = keys[:, band]
        # by key, then id, so buckets hold sorted ids: one stable sort when ids already ascend
        order = np.argsort(col, kind="stable") if ascending else np.lexsort((ids, col))
        sorted_keys, sorted_ids = col[order], ids[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        small = (sizes > 1) & (sizes <= MAX_BUCKET)
        found.append(_all_pairs(sorted_ids, starts[small], sizes[small]))
        for start, size in zip(starts[sizes > MAX_BUCKET], sizes[sizes > MAX_BUCKET]):
            members = sorted_ids[start:start + size]
            found.append(pair_keys(np.full(size - 1, members[0]), members[1:]))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return unpack_keys(np.unique(np.concatenate(found)))


def cross_only(pairs: np.ndarray, left: set[int], right: set[int]) -> np.ndarray:
    """Keep pairs with one member in ``left`` and the other in ``right``."""
    keep = [(a in left and b in right) or (a in right and b in left) for a, b in pairs.tolist()]
    return pairs[np.array(keep, dtype=bool)] if len(pairs) else pairs
