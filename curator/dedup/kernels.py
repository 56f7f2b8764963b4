"""Compiled inner loops of MinHash: shingling, signatures, exact Jaccard.

datasketch computes a signature with one Python call per shingle (``update``) or a numpy pass
per document (``update_batch``); neither runs a batch of documents through one fused loop, and
hashing each shingle in Python dominates. These loops do, with numba (threads across cores
via ``prange``), and stay value-for-value equal to ``datasketch.MinHash(scheme="affine64")``
fed the same shingles through ``curator.dedup.shingles.hashfunc``.

Text is UTF-8 bytes. Tokens are maximal runs of ASCII letters/digits and non-ASCII bytes;
ASCII letters are folded to lower case; everything else separates tokens.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
COMBINE = np.uint64(0x9E3779B97F4A7C15)
FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
S33 = np.uint64(33)
MAX64 = np.uint64(0xFFFFFFFFFFFFFFFF)
WORD, CHAR = 0, 1


@njit(cache=True, inline="always")
def _is_word(c):
    return (c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c >= 128


@njit(cache=True, inline="always")
def _fold(c):
    return c | 32 if (c >= 65 and c <= 90) else c


@njit(cache=True, inline="always")
def fmix64(h):
    """MurmurHash3's 64-bit finaliser, as datasketch applies it before its affine permutations."""
    h ^= h >> S33
    h *= FMIX1
    h ^= h >> S33
    h *= FMIX2
    h ^= h >> S33
    return h


@njit(cache=True)
def _token_hashes(buf, start, end):
    """FNV-1a of each token of buf[start:end], in order."""
    out = np.empty((end - start) // 2 + 1, dtype=np.uint64)
    n = 0
    in_tok = False
    h = FNV_OFFSET
    for i in range(start, end):
        c = buf[i]
        if _is_word(c):
            if not in_tok:
                h = FNV_OFFSET
                in_tok = True
            h ^= np.uint64(_fold(c))
            h *= FNV_PRIME
        elif in_tok:
            out[n] = h
            n += 1
            in_tok = False
    if in_tok:
        out[n] = h
        n += 1
    return out[:n]


@njit(cache=True)
def _canonical(buf, start, end):
    """The token stream joined by single spaces: what character shingles are taken from."""
    out = np.empty(end - start, dtype=np.uint8)
    n = 0
    in_tok = False
    for i in range(start, end):
        c = buf[i]
        if _is_word(c):
            if not in_tok and n > 0:
                out[n] = 32
                n += 1
            out[n] = _fold(c)
            n += 1
            in_tok = True
        else:
            in_tok = False
    return out[:n]


@njit(cache=True, inline="always")
def _windows(n, ngram):
    """(number of shingles, shingle width) for a sequence of n items: a sequence shorter than
    one shingle gives one shingle of all it has."""
    if n >= ngram:
        return n - ngram + 1, ngram
    return (1, n) if n > 0 else (0, 0)


@njit(cache=True)
def shingle_hashes(buf, start, end, ngram, mode):
    """Raw 64-bit hashes of the shingles of one text (before fmix64); an empty text gives none.
    Word shingles combine token hashes; character shingles are FNV-1a of the byte window."""
    if mode == WORD:
        toks = _token_hashes(buf, start, end)
        count, width = _windows(toks.shape[0], ngram)
        out = np.empty(count, dtype=np.uint64)
        for i in range(count):
            h = np.uint64(0)
            for j in range(width):
                h = h * COMBINE + toks[i + j]
            out[i] = h
        return out
    text = _canonical(buf, start, end)
    count, width = _windows(text.shape[0], ngram)
    out = np.empty(count, dtype=np.uint64)
    for i in range(count):
        h = FNV_OFFSET
        for j in range(width):
            h ^= np.uint64(text[i + j])
            h *= FNV_PRIME
        out[i] = h
    return out


@njit(cache=True, parallel=True)
def signatures(buf, offsets, ngram, mode, a, b):
    """One row of ``len(a)`` minima per text: min over shingles s of a*fmix64(s)+b (mod 2^64)."""
    n_docs = offsets.shape[0] - 1
    n_perm = a.shape[0]
    sig = np.empty((n_docs, n_perm), dtype=np.uint64)
    counts = np.zeros(n_docs, dtype=np.int64)
    for d in prange(n_docs):
        row = np.full(n_perm, MAX64, dtype=np.uint64)
        hashes = shingle_hashes(buf, offsets[d], offsets[d + 1], ngram, mode)
        for s in range(hashes.shape[0]):
            h = fmix64(hashes[s])
            for p in range(n_perm):
                v = a[p] * h + b[p]
                if v < row[p]:
                    row[p] = v
        sig[d] = row
        counts[d] = hashes.shape[0]
    return sig, counts


@njit(cache=True, parallel=True)
def shingle_sets(buf, offsets, ngram, mode):
    """Sorted distinct shingle hashes of each text, concatenated, with their offsets."""
    n_docs = offsets.shape[0] - 1
    sizes = np.zeros(n_docs + 1, dtype=np.int64)
    parts = [np.empty(0, dtype=np.uint64) for _ in range(n_docs)]
    for d in prange(n_docs):
        hashes = np.unique(shingle_hashes(buf, offsets[d], offsets[d + 1], ngram, mode))
        parts[d] = hashes
        sizes[d + 1] = hashes.shape[0]
    bounds = np.cumsum(sizes)
    out = np.empty(bounds[-1], dtype=np.uint64)
    for d in prange(n_docs):
        out[bounds[d]:bounds[d + 1]] = parts[d]
    return out, bounds


@njit(cache=True, parallel=True)
def pair_jaccard(sets, bounds, left, right):
    """Exact Jaccard of set ``left[k]`` and set ``right[k]`` (indices into ``bounds``), by merging
    the sorted arrays."""
    n = left.shape[0]
    out = np.empty(n, dtype=np.float64)
    for k in prange(n):
        i, i_end = bounds[left[k]], bounds[left[k] + 1]
        j, j_end = bounds[right[k]], bounds[right[k] + 1]
        size = (i_end - i) + (j_end - j)
        inter = 0
        while i < i_end and j < j_end:
            x, y = sets[i], sets[j]
            if x == y:
                inter += 1
                i += 1
                j += 1
            elif x < y:
                i += 1
            else:
                j += 1
        union = size - inter
        out[k] = inter / union if union > 0 else 0.0
    return out


@njit(cache=True, parallel=True)
def pair_matches(sig, left, right):
    """Number of equal values in signature rows ``left[k]`` and ``right[k]``."""
    n = left.shape[0]
    out = np.empty(n, dtype=np.int64)
    for k in prange(n):
        a, b = sig[left[k]], sig[right[k]]
        same = 0
        for p in range(a.shape[0]):
            same += a[p] == b[p]
        out[k] = same
    return out
