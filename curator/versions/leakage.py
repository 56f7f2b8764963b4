"""The leakage check a version must pass before approval, across every pair of its splits:

- near-duplicates: word-shingle Jaccard ≥ the dedup threshold of the run the version was cut
  after (``curator.dedup.leakage.cross_pairs``: the same signatures, banding and exact check);
- response overlap: assistant responses sharing a word 13-gram (lower-cased), the usual
  contamination test, which catches paraphrased prompts with a copied answer.
"""

from __future__ import annotations

import re
from itertools import combinations

import duckdb
import numpy as np

from ..dedup.leakage import cross_pairs
from ..dedup.params import DedupParams
from .splits import SPLITS

NGRAM = 13
MAX_LISTED = 1000
_WORD = re.compile(r"\w+")


def response_ngrams(messages: list[dict], n: int = NGRAM) -> set[int]:
    words = _WORD.findall(" ".join(m.get("content") or "" for m in messages if m.get("role") == "assistant").lower())
    return {hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)}


def _ngram_pairs(by_split: dict[str, list[dict]], n: int) -> list[dict]:
    """Pairs (a, b) in different splits whose responses share a word n-gram, with the count.

    Gram hashes go into flat numpy arrays sorted by (gram, split, example), ~17 bytes a gram
    where dicts of lists take ~100; only grams found in two splits are walked in Python."""
    grams, owners, split_ids = [], [], []
    for s, split in enumerate(SPLITS):
        for item in by_split.get(split, []):
            g = np.fromiter(response_ngrams(item["messages"], n), dtype=np.int64)
            grams.append(g)
            owners.append(np.full(len(g), item["example_id"], dtype=np.int64))
            split_ids.append(np.full(len(g), s, dtype=np.int8))
    if not grams:
        return []
    g, o, sp = np.concatenate(grams), np.concatenate(owners), np.concatenate(split_ids)
    if not len(g):  # every response shorter than n words: nothing can be shared
        return []
    order = np.lexsort((o, sp, g))
    g, o, sp = g[order], o[order], sp[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    crossing = sp[starts] != sp[ends - 1]  # sorted by split within a gram: first ≠ last ⇔ two splits
    shared: dict[tuple, int] = {}
    for a, b in zip(starts[crossing].tolist(), ends[crossing].tolist()):
        members = list(zip(sp[a:b].tolist(), o[a:b].tolist()))
        for (s1, x), (s2, y) in combinations(members, 2):
            if s1 != s2:
                key = (SPLITS[s1], x, SPLITS[s2], y)
                shared[key] = shared.get(key, 0) + 1
    return [{"split_a": s1, "a": a, "split_b": s2, "b": b, "shared_ngrams": k}
            for (s1, a, s2, b), k in sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))]


def check_leakage(conn: duckdb.DuckDBPyConnection, version: dict, items: list[dict], n: int = NGRAM) -> dict:
    """The report approval needs: ``clean`` and every cross-split pair found, by kind."""
    params = DedupParams(**{k: v for k, v in (version.get("dedup_params") or {}).items()
                            if k in DedupParams.model_fields})
    by_split = {s: [i for i in items if i["split"] == s] for s in SPLITS}
    near = []
    for s1, s2 in combinations(SPLITS, 2):
        left, right = [i["example_id"] for i in by_split[s1]], [i["example_id"] for i in by_split[s2]]
        if left and right:
            for p in cross_pairs(conn, "examples", left, right, params=params):
                near.append({"split_a": s1, "a": p.left, "split_b": s2, "b": p.right, "jaccard": round(p.jaccard, 4)})
    ngram = _ngram_pairs(by_split, n)
    return {"version": version["ref"], "content_hash": version["content_hash"], "clean": not near and not ngram,
            "threshold": params.threshold, "shingles": params.key, "ngram": n,
            "near_duplicate_pairs": near[:MAX_LISTED], "ngram_pairs": ngram[:MAX_LISTED],
            "n_near_duplicate_pairs": len(near), "n_ngram_pairs": len(ngram)}


def describe(report: dict, limit: int = 10) -> str:
    """The pairs in one line: ``example 12 (train) ~ example 40 (test) Jaccard 0.91; …``."""
    parts = [f"example {p['a']} ({p['split_a']}) ~ example {p['b']} ({p['split_b']}) Jaccard {p['jaccard']:.2f}"
             for p in report["near_duplicate_pairs"]]
    parts += [f"example {p['a']} ({p['split_a']}) ~ example {p['b']} ({p['split_b']}) share "
              f"{p['shared_ngrams']} response {report['ngram']}-grams" for p in report["ngram_pairs"]]
    total = report["n_near_duplicate_pairs"] + report["n_ngram_pairs"]
    more = f"; … {total - limit} more" if total > limit else ""
    return "; ".join(parts[:limit]) + more
