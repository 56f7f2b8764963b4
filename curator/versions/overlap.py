"""Word n-gram overlap between examples: one relation used twice, by the splitter (which keeps
overlapping examples in one group) and by approval's leakage check (which refuses overlap across
splits), so a freshly cut version passes its own gate by construction.

- Fields: ``response`` (assistant messages) and ``input`` (user messages), compared within a
  field: a 13-gram (lower-cased ``\\w+`` words) shared by two responses, or by two inputs, links
  the two examples. 13 words is the usual contamination test (GPT-3's), long enough that a shared
  one means a copied passage, not a common phrase.
- Boilerplate: an n-gram found in more than ``boilerplate_share`` of the examples, or in more than
  ``boilerplate_count`` of them, is a template (a greeting, a disclaimer, a canned reply), not a
  leak, and is ignored by both the grouping and the gate; one found in two examples never is
  (that is the planted leak: the same answer paragraph twice).
- A pair of examples overlaps when it shares at least ``min_shared`` (10) such n-grams of one
  field, i.e. a common passage of 22+ words: a copied paragraph shares dozens, while templated
  replies (bitext-support) share scattered phrases that would otherwise chain most of a corpus
  into one group. Measured on bitext-support: one shared 13-gram links 83% of its 4,513
  examples into one group; 10 leave the largest group under 1%.
The setting is a version parameter (``grouping.overlap``), recorded in the manifest.

N-grams are 64-bit hashes, stable across processes (BLAKE2b of each word, combined as a
polynomial over the words modulo 2**64 in numpy), so create and approve compute the same
relation; gram arrays are flat numpy arrays sorted by (gram, example), ~17 bytes a gram.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
import numpy as np

from ..errors import InputError

NGRAM = 13
FIELDS = {"response": ("assistant",), "input": ("user",)}
_WORD = re.compile(r"\w+")
_SALT = {"response": np.uint64(0), "input": np.uint64(0x9E3779B97F4A7C15)}  # keeps fields apart
_BASE = np.uint64(1099511628211)  # FNV prime: odd, so the polynomial mixes every word


def configured_embedding() -> str | None:
    """The embedding model of the settings (its cache key), recorded by a version cut now."""
    from ..config import get_settings
    from ..synth.embedding import embedding_key

    return embedding_key(get_settings())


@dataclass(frozen=True)
class OverlapParams:
    """What counts as overlap; recorded with the version (``grouping`` column and manifest).

    Besides shared n-grams (which need 22+ common words and so never link short examples):
    ``paraphrase`` links two examples with the same response (normalised words) whose inputs are
    alike (word TF-IDF cosine ≥ ``input_similarity``, or embedding cosine ≥ ``input_cosine``), and
    with an ``embedding`` model, any two examples whose whole texts have cosine ≥ ``cosine``
    (``curator.versions.paraphrase``)."""

    ngram: int = NGRAM
    fields: tuple[str, ...] = ("response", "input")
    boilerplate_share: float = 0.05
    boilerplate_count: int = 10
    min_shared: int = 10
    paraphrase: bool = True
    input_similarity: float = 0.5
    embedding: str | None = field(default_factory=configured_embedding)
    cosine: float = 0.9
    input_cosine: float = 0.85

    def __post_init__(self) -> None:
        if self.ngram < 3:
            raise InputError(f"--ngram must be at least 3 words, got {self.ngram}")
        if not 0 < self.boilerplate_share <= 1:
            raise InputError(f"--boilerplate-share is a fraction of the examples in (0, 1], got {self.boilerplate_share}")
        if self.boilerplate_count < 2:
            raise InputError("--boilerplate-count must be at least 2: an n-gram shared by two examples is a "
                             f"possible leak, never boilerplate; got {self.boilerplate_count}")
        if self.min_shared < 1:
            raise InputError(f"--min-shared-ngrams must be at least 1, got {self.min_shared}")
        for name in ("input_similarity", "cosine", "input_cosine"):
            if not 0 < getattr(self, name) <= 1:
                raise InputError(f"{name} is a cosine in (0, 1], got {getattr(self, name)}")
        unknown = set(self.fields) - set(FIELDS)
        if unknown or not self.fields:
            raise InputError(f"overlap fields must be among {', '.join(FIELDS)}, got {list(self.fields)}")

    def limit(self, n_examples: int) -> int:
        """The most examples an n-gram may be in and still count (never below 2)."""
        return max(2, min(self.boilerplate_count, int(self.boilerplate_share * n_examples)))

    def as_dict(self) -> dict:
        out = {"ngram": self.ngram, "fields": list(self.fields), "boilerplate_share": self.boilerplate_share,
               "boilerplate_count": self.boilerplate_count, "min_shared": self.min_shared}
        if self.paraphrase:
            out["paraphrase"] = {"input_similarity": self.input_similarity}
        if self.embedding:
            out["semantic"] = {"model": self.embedding, "cosine": self.cosine, "input_cosine": self.input_cosine}
        return out

    @classmethod
    def from_dict(cls, d: dict | None) -> "OverlapParams":
        """A version's recorded setting; versions made before it existed: responses only, no boilerplate;
        versions made before paraphrases were checked: no paraphrase or semantic relation."""
        if not d:
            return cls(fields=("response",), boilerplate_share=1.0, boilerplate_count=1 << 62, min_shared=1,
                       paraphrase=False, embedding=None)
        para, sem = d.get("paraphrase"), d.get("semantic")
        return cls(d["ngram"], tuple(d["fields"]), d["boilerplate_share"], d["boilerplate_count"], d["min_shared"],
                   paraphrase=para is not None, input_similarity=(para or {}).get("input_similarity", 0.5),
                   embedding=(sem or {}).get("model"), cosine=(sem or {}).get("cosine", 0.9),
                   input_cosine=(sem or {}).get("input_cosine", 0.85))


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def field_ngrams(messages: list[dict], field: str, n: int, cache: dict[str, int]) -> np.ndarray:
    """Distinct n-gram hashes of one field of one example (uint64)."""
    roles = FIELDS[field]
    words = _WORD.findall(" ".join(m.get("content") or "" for m in messages if m.get("role") in roles).lower())
    if len(words) < n:
        return np.empty(0, dtype=np.uint64)
    w = np.fromiter((cache[x] if x in cache else cache.setdefault(x, _word_hash(x)) for x in words),
                    dtype=np.uint64, count=len(words))
    h = np.zeros(len(words) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _BASE + w[k:len(words) - n + 1 + k]
    return np.unique(h ^ _SALT[field])


@dataclass
class Grams:
    """Every (gram, example) pair of a set of examples, boilerplate removed, sorted by gram."""

    gram: np.ndarray     # uint64
    owner: np.ndarray    # example id
    field: np.ndarray    # index into params.fields
    ignored: int         # distinct n-grams dropped as boilerplate
    limit: int


def collect(examples: list[tuple[int, list[dict]]], params: OverlapParams) -> Grams:
    """N-grams of ``(example_id, messages)``, keeping those in 2..limit examples."""
    cache: dict[str, int] = {}
    grams, owners, fields = [], [], []
    for f, field in enumerate(params.fields):
        for example_id, messages in examples:
            g = field_ngrams(messages, field, params.ngram, cache)
            grams.append(g)
            owners.append(np.full(len(g), example_id, dtype=np.int64))
            fields.append(np.full(len(g), f, dtype=np.int8))
    limit = params.limit(len(examples))
    if not grams or not sum(len(g) for g in grams):
        return Grams(np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int8), 0, limit)
    g, o, f = np.concatenate(grams), np.concatenate(owners), np.concatenate(fields)
    order = np.lexsort((o, g))
    g, o, f = g[order], o[order], f[order]
    _, inverse, df = np.unique(g, return_inverse=True, return_counts=True)
    keep = (df[inverse] >= 2) & (df[inverse] <= limit)  # grams are distinct per example: df = examples
    return Grams(g[keep], o[keep], f[keep], int((df > limit).sum()), limit)


def shared_pairs(grams: Grams, min_shared: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Example pairs (a < b) sharing at least ``min_shared`` n-grams of one field: (pairs k × 2,
    field index per pair, shared count per pair). Grams are in at most ``limit`` examples, so
    enumerating each gram's owner pairs stays small."""
    starts = np.flatnonzero(np.r_[True, grams.gram[1:] != grams.gram[:-1]]) if len(grams.gram) else np.empty(0, int)
    ends = np.r_[starts[1:], len(grams.gram)]
    firsts, seconds, fields = [], [], []
    for df in np.unique(ends - starts):  # gram groups of one size at once: one index pattern each
        at = starts[(ends - starts) == df]
        ii, jj = np.triu_indices(int(df), 1)
        firsts.append(grams.owner[at[:, None] + ii].ravel())
        seconds.append(grams.owner[at[:, None] + jj].ravel())
        fields.append(np.repeat(grams.field[at], len(ii)))
    if not firsts:
        return np.empty((0, 2), np.int64), np.empty(0, np.int8), np.empty(0, np.int64)
    a, b, f = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(fields).astype(np.int64)
    table = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b), f], axis=1), axis=0, return_counts=True)
    rows, counts = table
    keep = counts >= min_shared
    return rows[keep, :2], rows[keep, 2].astype(np.int8), counts[keep]


def cross_split_pairs(pairs: tuple[np.ndarray, np.ndarray, np.ndarray], split_of: dict[int, str],
                      splits: tuple[str, ...], fields: tuple[str, ...]) -> list[dict]:
    """The ``shared_pairs`` whose examples are in different splits, most shared first."""
    rank = {s: i for i, s in enumerate(splits)}
    found = []
    for (x, y), f, k in zip(pairs[0].tolist(), pairs[1].tolist(), pairs[2].tolist()):
        if split_of[x] != split_of[y]:
            (sa, a), (sb, b) = sorted([(rank[split_of[x]], x), (rank[split_of[y]], y)])
            found.append((-k, splits[sa], a, splits[sb], b, fields[f]))
    return [{"split_a": sa, "a": a, "split_b": sb, "b": b, "field": f, "shared_ngrams": -k}
            for k, sa, a, sb, b, f in sorted(found)]
