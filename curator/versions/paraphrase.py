"""Paraphrase relations between examples, for the splitter and the gate alike (as ``overlap``).

Shared 13-grams need a common passage of 22+ words, so they never link short examples: a dialogue
and its back-translation with the same 8-word note sat in train and test unseen. Two relations
close that gap:

- **same response, alike inputs** (always on for versions that record ``paraphrase``): two
  examples whose responses are equal after normalisation (lower-cased ``\\w+`` words), whatever
  their length, and whose inputs have word TF-IDF cosine ≥ ``input_similarity`` (or, with an
  embedding model, embedding cosine ≥ ``input_cosine``). Label-like answers ("None.") over
  unrelated inputs fail the input test, so they do not chain the corpus together. Measured on
  MTS-Dialog's training set with a back-translation-like rewrite of each dialogue: TF-IDF cosine
  ≥ 0.5 keeps 99.8 % of the rewrites and links 58 of 1,278 same-note pairs of different dialogues.
- **semantic** (with an embedding model recorded in the version): whole-example texts with
  embedding cosine ≥ ``cosine``, found exactly (``curator.dedup.semantic``).

Vectors come from the store's embedding cache (``curator.dedup.embed``): the gate reads those
the cut stored, and embeds only texts it has not seen, with the recorded model.
"""

from __future__ import annotations

import re
from collections import Counter

import duckdb
import numpy as np

from ..dedup.embed import CacheOnly, embed_cached
from ..dedup.semantic import similar_pairs
from .overlap import OverlapParams

_WORD = re.compile(r"\w+")
GROUP_BLOCK = 2048  # rows of one same-response group compared at once


def parts(messages: list[dict]) -> tuple[str, str, str]:
    """(input: user contents, response: assistant contents, whole: every content) of an example."""
    def text(roles):
        return "\n".join(m.get("content") or "" for m in messages if roles is None or m.get("role") in roles)
    return text(("user",)), text(("assistant",)), text(None)


def response_key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def tfidf(texts: list[str]):
    """Rows of sublinear word TF-IDF, L2-normalised (scipy CSR): a dot product is the cosine."""
    from scipy.sparse import csr_matrix

    docs = [Counter(_WORD.findall(t.lower())) for t in texts]
    vocab: dict[str, int] = {}
    df: Counter = Counter()
    for d in docs:
        df.update(d.keys())
    rows, cols, vals = [], [], []
    n = len(docs)
    for r, d in enumerate(docs):
        for w, c in d.items():
            rows.append(r)
            cols.append(vocab.setdefault(w, len(vocab)))
            vals.append((1 + np.log(c)) * np.log((1 + n) / (1 + df[w])))
    matrix = csr_matrix((np.array(vals, dtype=np.float64), (rows, cols)), shape=(n, max(1, len(vocab))))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return csr_matrix(matrix.multiply(1 / norms[:, None]))


def vectors(conn: duckdb.DuckDBPyConnection, model: str, texts: list[str]) -> np.ndarray:
    """Normalised vectors of ``texts`` by the recorded model: cached ones, the rest embedded when the
    configured model is that model. A text the PII policy blocked gets a zero vector (no link)."""
    from ..config import get_settings
    from ..synth.embedding import embedder_from_settings, embedding_key

    settings = get_settings()
    embedder = (embedder_from_settings(settings) if embedding_key(settings) == model else
                CacheOnly(model, "the version records this model: configure CURATOR_EMBEDDING_BACKEND and "
                                 "CURATOR_EMBEDDING_MODEL for it"))
    out, _, _ = embed_cached(conn, embedder, texts)
    return out


def paraphrase_pairs(conn: duckdb.DuckDBPyConnection, examples: list[tuple[int, list[dict]]],
                     params: OverlapParams) -> tuple[np.ndarray, np.ndarray, dict]:
    """(id pairs k × 2 that must share a split, the relation of each: 0 paraphrase, 1 semantic, counts)."""
    found = {"paraphrase_links": 0, "semantic_pairs": 0, "embedding_model": params.embedding}
    empty = np.empty((0, 2), np.int64)
    if not examples or not (params.paraphrase or params.embedding):
        return empty, np.empty(0, np.int8), found
    ids = np.array([i for i, _ in examples], dtype=np.int64)
    split = [parts(m) for _, m in examples]
    links, kinds = [], []
    if params.paraphrase:
        inputs = [s[0] for s in split]
        input_vectors = vectors(conn, params.embedding, inputs) if params.embedding else None
        pairs = _same_response_pairs([response_key(s[1]) for s in split], tfidf(inputs), params, input_vectors)
        links.append(ids[pairs])
        kinds.append(np.zeros(len(pairs), np.int8))
        found["paraphrase_links"] = len(pairs)
    if params.embedding:
        whole = vectors(conn, params.embedding, [s[2] for s in split])
        pairs, _, _ = similar_pairs(whole, params.cosine, "exact")
        links.append(ids[pairs])
        kinds.append(np.ones(len(pairs), np.int8))
        found["semantic_pairs"] = len(pairs)
    return np.concatenate(links).reshape(-1, 2), np.concatenate(kinds), found


def _same_response_pairs(keys: list[str], lexical, params: OverlapParams,
                         input_vectors: np.ndarray | None) -> np.ndarray:
    """Position pairs (a < b) with equal non-empty response keys and alike inputs."""
    groups: dict[str, list[int]] = {}
    for k, key in enumerate(keys):
        if key:
            groups.setdefault(key, []).append(k)
    found = []
    for members in groups.values():
        if len(members) < 2:
            continue
        rows = np.array(members)
        for start in range(0, len(rows), GROUP_BLOCK):
            block = rows[start:start + GROUP_BLOCK]
            alike = (lexical[block] @ lexical[rows].T).toarray() >= params.input_similarity
            if input_vectors is not None:
                alike |= input_vectors[block] @ input_vectors[rows].T >= params.input_cosine
            i, j = np.nonzero(alike)
            keep = block[i] < rows[j]
            found.append(np.stack([block[i][keep], rows[j][keep]], axis=1))
    return np.concatenate(found) if found else np.empty((0, 2), np.int64)
