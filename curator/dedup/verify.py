"""Candidate verification shared by every engine: exact Jaccard of shingle sets, and the bound
under which a candidate pair is not worth verifying.

Its own module so that ``engines`` and ``ray_engine`` both import it and neither imports the
other's functions (``engines`` names ``ray_engine`` only to build it).

The skip bound. Each of the ``num_perm`` signature values of two sets agrees with probability
equal to their Jaccard J, independently across permutations, so the number of agreeing values
is Binomial(num_perm, J). For a pair at J ≥ threshold that count falls below ``min_matches`` with
probability at most ``MISS`` (the tail is largest at J = threshold). Pairs under it are left
unverified and are never duplicates; every stored duplicate is still verified exactly, so
precision is untouched and at most a ``MISS`` share of true candidate pairs is lost (the bench
measures the loss against planted truth).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from . import kernels
from . import shingles as sh
from .params import DedupParams

MISS = 1e-6  # at most one true pair in a million candidates is skipped unverified


@lru_cache(maxsize=256)
def min_matches(num_perm: int, threshold: float, miss: float = MISS) -> int:
    """The fewest agreeing signature values worth verifying: P(Binomial(num_perm, threshold) <
    min_matches) ≤ ``miss``."""
    from scipy.stats import binom

    k = int(binom.ppf(miss, num_perm, threshold))  # smallest k with cdf(k) ≥ miss
    while k > 0 and binom.cdf(k - 1, num_perm, threshold) > miss:
        k -= 1
    return k


def matches(sig: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Agreeing signature values of rows ``left[k]`` and ``right[k]`` (positions in ``sig``)."""
    return kernels.pair_matches(sig, left.astype(np.int64), right.astype(np.int64))


def worth_verifying(sig: np.ndarray, left: np.ndarray, right: np.ndarray, params: DedupParams) -> np.ndarray:
    """Mask of the pairs whose signatures leave a Jaccard ≥ threshold possible (see the bound)."""
    return matches(sig, left, right) >= min_matches(params.num_perm, params.threshold)


def exact_jaccard(pairs: np.ndarray, ids: np.ndarray, texts: pa.Array, params: DedupParams) -> np.ndarray:
    """Exact Jaccard of each pair's shingle sets (compiled, one hash table per pair); ``ids`` in
    any order and covering every id in ``pairs``, ``texts`` aligned with them."""
    if len(pairs) == 0:
        return np.zeros(0, dtype=np.float64)
    order = np.argsort(ids, kind="stable")
    position = order[np.searchsorted(ids, pairs, sorter=order)]
    return sh.pair_jaccard(texts, position[:, 0], position[:, 1], params)
