"""Compiled inner loops of MinHash: shingling, signatures, exact Jaccard.

datasketch computes a signature with one Python call per shingle (``update``) or a numpy pass
per document (``update_batch``); neither runs a batch of documents through one fused loop, and
hashing each shingle in Python dominates. These loops do, with numba (threads across cores
via ``prange``), and stay value-for-value equal to ``datasketch.MinHash(scheme="affine64")``
fed the same shingles through ``curator.dedup.shingles.hashfunc``.

The entry points release the GIL (``nogil``): in the service a dedup job runs on the job
runner's thread, and the event loop must keep acknowledging webhooks and answering reads.

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
def fmix64(h):
    """MurmurHash3's 64-bit finaliser, as datasketch applies it before its affine permutations."""
    h ^= h >> S33
    h *= FMIX1
    h ^= h >> S33
    h *= FMIX2
    h ^= h >> S33
    return h


def _fold_table() -> np.ndarray:
    """Byte -> its lower-case self if it belongs to a token, else 0 (no token byte is 0)."""
    table = np.zeros(256, dtype=np.uint8)
    for c in range(256):
        if (48 <= c <= 57) or (97 <= c <= 122) or c >= 128:
            table[c] = c
        elif 65 <= c <= 90:
            table[c] = c | 32
    return table


FOLD = _fold_table()  # a global array: numba freezes it into the compiled loops as a constant


@njit(cache=True)
def _token_hashes(buf, start, end):
    """FNV-1a of each token of buf[start:end], in order. One table look-up per byte and a tight
    loop per token: the branch mispredicts once per token, not per byte (25 % faster than
    classifying each byte with compares)."""
    out = np.empty((end - start) // 2 + 1, dtype=np.uint64)
    n = 0
    i = start
    while i < end:
        c = FOLD[buf[i]]
        i += 1
        if c == 0:
            continue
        h = (FNV_OFFSET ^ np.uint64(c)) * FNV_PRIME
        while i < end:
            c = FOLD[buf[i]]
            if c == 0:
                break
            h = (h ^ np.uint64(c)) * FNV_PRIME
            i += 1
        i += 1
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
        c = FOLD[buf[i]]
        if c != 0:
            if not in_tok and n > 0:
                out[n] = 32
                n += 1
            out[n] = c
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


@njit(cache=True, inline="always")
def _min_hashes(hashes, a, b, row):
    """row[p] = min over s of a[p]*hashes[s]+b[p], four permutations per pass over the hashes: the
    minima stay in registers and the inner loop vectorises over shingles (no load/store of the
    row per shingle, 30 % faster than looping over permutations inside)."""
    n = hashes.shape[0]
    for p in range(0, a.shape[0] - 3, 4):
        a0, a1, a2, a3 = a[p], a[p + 1], a[p + 2], a[p + 3]
        b0, b1, b2, b3 = b[p], b[p + 1], b[p + 2], b[p + 3]
        m0 = m1 = m2 = m3 = MAX64
        for s in range(n):
            h = hashes[s]
            m0 = min(m0, a0 * h + b0)
            m1 = min(m1, a1 * h + b1)
            m2 = min(m2, a2 * h + b2)
            m3 = min(m3, a3 * h + b3)
        row[p], row[p + 1], row[p + 2], row[p + 3] = m0, m1, m2, m3
    for p in range(a.shape[0] - a.shape[0] % 4, a.shape[0]):
        m = MAX64
        for s in range(n):
            m = min(m, a[p] * hashes[s] + b[p])
        row[p] = m


@njit(cache=True, parallel=True, nogil=True)
def signatures(buf, offsets, ngram, mode, a, b):
    """One row of ``len(a)`` minima per text: min over shingles s of a*fmix64(s)+b (mod 2^64)."""
    n_docs = offsets.shape[0] - 1
    sig = np.empty((n_docs, a.shape[0]), dtype=np.uint64)
    counts = np.zeros(n_docs, dtype=np.int64)
    for d in prange(n_docs):
        hashes = shingle_hashes(buf, offsets[d], offsets[d + 1], ngram, mode)
        for s in range(hashes.shape[0]):
            hashes[s] = fmix64(hashes[s])
        _min_hashes(hashes, a, b, sig[d])
        counts[d] = hashes.shape[0]
    return sig, counts


@njit(cache=True, inline="always")
def _mark(keys, state, mask, h, bit):
    """Mark ``h`` as a member of set ``bit`` in an open-addressing table; its marks before."""
    j = fmix64(h) & mask
    while state[j] != 0 and keys[j] != h:
        j = (j + np.uint64(1)) & mask
    before = state[j]
    keys[j] = h
    state[j] = before | bit
    return before


@njit(cache=True)
def _text_jaccard(ha, hb):
    """Jaccard of the distinct values of two hash arrays through one small hash table marked
    A (1) / B (2): linear in the shingles, where sorting each set first costs a log factor more
    (3× slower measured on 1,100-word documents)."""
    cap = 16
    while cap < 2 * (ha.shape[0] + hb.shape[0]):
        cap *= 2
    mask = np.uint64(cap - 1)
    keys = np.empty(cap, dtype=np.uint64)
    state = np.zeros(cap, dtype=np.uint8)
    na = 0
    for i in range(ha.shape[0]):
        na += _mark(keys, state, mask, ha[i], 1) == 0
    nb = 0
    inter = 0
    for i in range(hb.shape[0]):
        before = _mark(keys, state, mask, hb[i], 2)
        if (before & 2) == 0:
            nb += 1
            inter += before & 1
    union = na + nb - inter
    return inter / union if union > 0 else 0.0


@njit(cache=True, parallel=True, nogil=True)
def pair_jaccard(buf, offsets, ngram, mode, left, right):
    """Exact Jaccard of the shingle sets of texts ``left[k]`` and ``right[k]`` (indices into
    ``offsets``), shingled on the fly: no set is materialised beyond the pair at hand."""
    n = left.shape[0]
    out = np.empty(n, dtype=np.float64)
    for k in prange(n):
        a, b = left[k], right[k]
        ha = shingle_hashes(buf, offsets[a], offsets[a + 1], ngram, mode)
        hb = shingle_hashes(buf, offsets[b], offsets[b + 1], ngram, mode)
        out[k] = _text_jaccard(ha, hb)
    return out


@njit(cache=True, parallel=True, nogil=True)
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


@njit(cache=True, nogil=True)
def permute_rows(matrix, order):
    """matrix[i] = old matrix[order[i]] for every row, in place, one row of scratch: ``matrix[order]``
    would hold a second copy (a gigabyte of signatures at a million rows) at the run's peak.
    Follows each cycle of the permutation once."""
    n = order.shape[0]
    done = np.zeros(n, dtype=np.bool_)
    scratch = np.empty(matrix.shape[1], dtype=matrix.dtype)
    for start in range(n):
        if done[start]:
            continue
        scratch[:] = matrix[start]
        i = start
        while True:
            done[i] = True
            j = order[i]
            if j == start:
                matrix[i] = scratch
                break
            matrix[i] = matrix[j]
            i = j


@njit(cache=True, inline="always")
def _word_byte(c):
    """The test ``FOLD[c] != 0`` in compares, which vectorise (a table look-up would be a gather)."""
    return (np.uint8(c - 48) < 10) | (np.uint8((c | 32) - 97) < 26) | (c >= 128)


@njit(cache=True)
def _count_shingles(buf, start, end, ngram, mode):
    """How many shingles ``shingle_hashes`` gives for buf[start:end], without hashing them:
    token starts and token bytes counted in one branch-free (vectorised) pass."""
    if end <= start:
        return 0
    chars = np.int64(_word_byte(buf[start]))
    tokens = chars
    for i in range(start + 1, end):
        word = _word_byte(buf[i])
        chars += word
        tokens += word > _word_byte(buf[i - 1])  # a token starts here
    n = tokens if mode == WORD else chars + max(tokens - 1, 0)
    return _windows(n, ngram)[0]


@njit(cache=True, parallel=True, nogil=True)
def shingle_hash_lists(buf, offsets, ngram, mode):
    """Every text's raw shingle hashes, concatenated, with their offsets: the shingles in the form
    other MinHash libraries take (the bench feeds them to rensa), computed once; sized by a
    counting pass that only finds token boundaries."""
    n_docs = offsets.shape[0] - 1
    sizes = np.zeros(n_docs + 1, dtype=np.int64)
    for d in prange(n_docs):
        sizes[d + 1] = _count_shingles(buf, offsets[d], offsets[d + 1], ngram, mode)
    bounds = np.cumsum(sizes)
    out = np.empty(bounds[-1], dtype=np.uint64)
    for d in prange(n_docs):
        out[bounds[d]:bounds[d + 1]] = shingle_hashes(buf, offsets[d], offsets[d + 1], ngram, mode)
    return out, bounds
