"""The Python side of shingling: packing texts for the compiled loops, and the reference
shingles and hash function that make our signatures loadable by datasketch.

``datasketch.MinHash(num_perm, seed, hashfunc=hashfunc(params), scheme="affine64")`` updated
with ``shingles(text, params)`` holds exactly the values ``signatures`` computes.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa

from . import kernels
from .params import SCHEME, DedupParams

_MASK = (1 << 64) - 1
_TOKEN = re.compile(rb"[0-9a-z\x80-\xff]+")


def pack(texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, int64 offsets) of many texts; Arrow string arrays are used without copying
    text (only 32-bit offsets are widened; other string types are cast to large_string)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if isinstance(texts, pa.Array):
        arr = texts if texts.type in (pa.string(), pa.large_string()) else texts.cast(pa.large_string())
        if arr.null_count:
            arr = arr.fill_null("")
        _, offsets, data = arr.buffers()
        kind = np.int64 if arr.type == pa.large_string() else np.int32
        offs = np.frombuffer(offsets, dtype=kind)[arr.offset:arr.offset + len(arr) + 1]
        buf = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        return buf, offs.astype(np.int64, copy=False)
    encoded = [t.encode("utf-8") for t in texts]
    offs = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offs[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offs


def permutations(params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own (a, b) for this seed and num_perm, so both sides permute alike."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=SCHEME).permutations
    return np.ascontiguousarray(a, dtype=np.uint64), np.ascontiguousarray(b, dtype=np.uint64)


def _mode(params: DedupParams) -> int:
    return kernels.WORD if params.shingle == "word" else kernels.CHAR


def signatures(texts, params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
    """(signatures uint64 [n, num_perm], shingle counts) for many texts."""
    buf, offsets = pack(texts)
    a, b = permutations(params)
    return kernels.signatures(buf, offsets, params.ngram, _mode(params), a, b)


def pair_jaccard(texts, left: np.ndarray, right: np.ndarray, params: DedupParams) -> np.ndarray:
    """Exact Jaccard of the shingle sets of ``texts[left[k]]`` and ``texts[right[k]]``."""
    buf, offsets = pack(texts)
    return kernels.pair_jaccard(buf, offsets, params.ngram, _mode(params),
                                np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64))


# --- reference implementation, for datasketch and for explanations -------------------------

def _fnv(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for c in data:
        h = ((h ^ c) * 0x100000001B3) & _MASK
    return h


def tokens(text: str) -> list[bytes]:
    return _TOKEN.findall(text.encode("utf-8").lower())


def shingles(text: str, params: DedupParams) -> list[bytes]:
    """The shingles of ``text`` as bytes, exactly those the compiled loops hash."""
    toks = tokens(text)
    if params.shingle == "word":
        if not toks:
            return []
        n = params.ngram if len(toks) >= params.ngram else len(toks)
        return [b" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
    stream = b" ".join(toks)
    if not stream:
        return []
    n = params.ngram if len(stream) >= params.ngram else len(stream)
    return [stream[i:i + n] for i in range(len(stream) - n + 1)]


def hashfunc(params: DedupParams) -> Callable[[bytes], int]:
    """The 64-bit shingle hash, as a datasketch ``hashfunc`` (scheme ``affine64``)."""
    if params.shingle == "char":
        return _fnv

    def word_hash(shingle: bytes) -> int:
        h = 0
        for tok in shingle.split(b" "):
            h = (h * 0x9E3779B97F4A7C15 + _fnv(tok)) & _MASK
        return h

    return word_hash


def to_lean(hashvalues: np.ndarray, params: DedupParams):
    """A stored signature as a ``datasketch.LeanMinHash``, usable with datasketch's own index."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=params.seed, hashvalues=hashvalues, scheme=SCHEME)
