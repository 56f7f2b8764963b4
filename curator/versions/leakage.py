"""The leakage check a version must pass before approval, across every pair of its splits:

- near-duplicates: word-shingle Jaccard ≥ the dedup threshold of the run the version was cut
  after (``curator.dedup.leakage.cross_pairs``: the same signatures, banding and exact check);
- n-gram overlap: responses (and, for versions that record it, inputs) sharing a word 13-gram
  (lower-cased) that is not boilerplate, the usual contamination test, which catches paraphrased
  prompts with a copied answer (``overlap``: the same relation the splitter grouped by, with the
  boilerplate setting recorded in the version's ``grouping``).
"""

from __future__ import annotations

from itertools import combinations

import duckdb

from ..dedup.leakage import cross_pairs
from ..dedup.params import DedupParams
from .overlap import OverlapParams, collect, cross_split_pairs, shared_pairs
from .paraphrase import paraphrase_pairs
from .splits import SPLITS

MAX_LISTED = 1000


def dedup_params(version: dict) -> DedupParams:
    """The near-duplicate setting of the version's dedup run (defaults when it had none)."""
    return DedupParams(**{k: v for k, v in (version.get("dedup_params") or {}).items()
                          if k in DedupParams.model_fields})


def check_leakage(conn: duckdb.DuckDBPyConnection, version: dict, items: list[dict]) -> dict:
    """The report approval needs: ``clean`` and every cross-split pair found, by kind."""
    params = dedup_params(version)
    overlap = OverlapParams.from_dict((version.get("grouping") or {}).get("overlap"))
    by_split = {s: [i for i in items if i["split"] == s] for s in SPLITS}
    near = []
    for s1, s2 in combinations(SPLITS, 2):
        left, right = [i["example_id"] for i in by_split[s1]], [i["example_id"] for i in by_split[s2]]
        if left and right:
            for p in cross_pairs(conn, "examples", left, right, params=params):
                near.append({"split_a": s1, "a": p.left, "split_b": s2, "b": p.right, "jaccard": round(p.jaccard, 4)})
    grams = collect([(i["example_id"], i["messages"]) for i in items], overlap)
    split_of = {i["example_id"]: i["split"] for i in items}
    ngram = cross_split_pairs(shared_pairs(grams, overlap.min_shared), split_of, SPLITS, overlap.fields)
    para = _cross_paraphrases(conn, items, overlap, split_of)
    return {"version": version["ref"], "content_hash": version["content_hash"],
            "clean": not near and not ngram and not para,
            "threshold": params.threshold, "shingles": params.key, "ngram": overlap.ngram,
            "overlap": overlap.as_dict(), "boilerplate_ngrams_ignored": grams.ignored,
            "near_duplicate_pairs": near[:MAX_LISTED], "ngram_pairs": ngram[:MAX_LISTED],
            "paraphrase_pairs": para[:MAX_LISTED],
            "n_near_duplicate_pairs": len(near), "n_ngram_pairs": len(ngram), "n_paraphrase_pairs": len(para)}


def _cross_paraphrases(conn, items: list[dict], overlap: OverlapParams, split_of: dict[int, str]) -> list[dict]:
    """Same-response paraphrases and semantic pairs (``paraphrase``) whose examples sit in different splits."""
    pairs, kinds, _ = paraphrase_pairs(conn, [(i["example_id"], i["messages"]) for i in items], overlap)
    rank = {s: k for k, s in enumerate(SPLITS)}
    found = []
    for (x, y), kind in zip(pairs.tolist(), kinds.tolist()):
        if split_of[x] != split_of[y]:
            (_, a), (_, b) = sorted([(rank[split_of[x]], x), (rank[split_of[y]], y)])
            found.append({"split_a": split_of[a], "a": a, "split_b": split_of[b], "b": b,
                          "relation": "same response, paraphrased input" if kind == 0 else
                          f"semantic (cosine ≥ {overlap.cosine})"})
    return sorted(found, key=lambda p: (rank[p["split_a"]], p["a"], p["b"]))


def describe(report: dict, limit: int = 10) -> str:
    """The pairs in one line: ``example 12 (train) ~ example 40 (test) Jaccard 0.91; …``."""
    parts = [f"example {p['a']} ({p['split_a']}) ~ example {p['b']} ({p['split_b']}) Jaccard {p['jaccard']:.2f}"
             for p in report["near_duplicate_pairs"]]
    parts += [f"example {p['a']} ({p['split_a']}) ~ example {p['b']} ({p['split_b']}) share "
              f"{p['shared_ngrams']} {p.get('field', 'response')} {report['ngram']}-grams" for p in report["ngram_pairs"]]
    parts += [f"example {p['a']} ({p['split_a']}) ~ example {p['b']} ({p['split_b']}) {p['relation']}"
              for p in report.get("paraphrase_pairs", [])]
    total = report["n_near_duplicate_pairs"] + report["n_ngram_pairs"] + report.get("n_paraphrase_pairs", 0)
    more = f"; … {total - limit} more" if total > limit else ""
    return "; ".join(parts[:limit]) + more
