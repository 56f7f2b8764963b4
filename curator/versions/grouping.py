"""The pair relations a version is grouped by, and the create report that says how well the
groups could be split.

The relations are exactly those approval's leakage check tests, computed the same way, so that a
version passes its own gate by construction: near-duplicate pairs (``cross_pairs`` over the pool
at the threshold of the dedup run the version is cut after: the same signatures, banding and
exact Jaccard, including examples added since that run) and shared non-boilerplate n-grams
(``overlap``). Source document, source record and ``--group-by`` are keys (``splits``).
"""

from __future__ import annotations

import duckdb
import numpy as np

from ..dedup.leakage import cross_pairs
from ..dedup.params import DedupParams
from .overlap import OverlapParams, collect, shared_pairs
from .paraphrase import paraphrase_pairs
from .splits import SPLITS

LARGEST = 5  # groups listed in the report
GIANT_SHARE = 0.02  # a group above this share of the examples can pull split shares off


def relation_links(conn: duckdb.DuckDBPyConnection, messages: dict[int, list[dict]], dedup_params: dict | None,
                   overlap: OverlapParams) -> tuple[np.ndarray, dict]:
    """Example pairs (k × 2) that must share a group, and how many each relation gave."""
    ids = sorted(messages)
    params = DedupParams(**{k: v for k, v in (dedup_params or {}).items() if k in DedupParams.model_fields})
    near = [(p.left, p.right) for p in cross_pairs(conn, "examples", ids, ids, params=params)]
    grams = collect([(i, messages[i]) for i in ids], overlap)
    gram_links = shared_pairs(grams, overlap.min_shared)[0]
    near_links = np.array(near, dtype=np.int64).reshape(-1, 2)
    para_links, _, para_found = paraphrase_pairs(conn, [(i, messages[i]) for i in ids], overlap)
    found = {"near_duplicate_pairs": len(near), "ngram_links": int(len(gram_links)),
             "boilerplate_ngrams_ignored": grams.ignored, "boilerplate_limit": grams.limit, **para_found}
    return np.concatenate([near_links, gram_links, para_links]), found


def grouping_report(placed: list[tuple[str, str]], shares: dict[str, float], found: dict) -> dict:
    """Groups, the largest ones and their share, achieved vs requested split shares, and what a
    giant group costs: ``placed`` is (split, group key) per example."""
    n = len(placed)
    sizes: dict[str, int] = {}
    split_of: dict[str, str] = {}
    for split, group in placed:
        sizes[group] = sizes.get(group, 0) + 1
        split_of[group] = split
    largest = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:LARGEST]
    achieved = {s: round(sum(1 for p in placed if p[0] == s) / n, 4) for s in SPLITS}
    gap = max(abs(achieved[s] - shares[s]) for s in SPLITS) * 100
    top_share = largest[0][1] / n
    report = {"examples": n, "groups": len(sizes), "singletons": sum(1 for v in sizes.values() if v == 1),
              "largest": [{"group": g, "examples": k, "share": round(k / n, 4), "split": split_of[g]}
                          for g, k in largest],
              "requested": shares, "achieved": achieved, "max_gap_points": round(gap, 2), **found}
    if top_share > GIANT_SHARE:
        report["warning"] = (f"group {largest[0][0]} holds {top_share:.1%} of the examples "
                             f"({largest[0][1]} of {n}): linked examples cannot be split, so the achieved shares "
                             f"miss the requested ones by up to {gap:.1f} points")
    return report


def describe_report(report: dict) -> str:
    """The create report in a few lines for the terminal."""
    shares = ", ".join(f"{s} {report['achieved'][s]:.1%} (asked {report['requested'][s]:.0%})" for s in SPLITS)
    top = "; ".join(f"{g['group']} {g['examples']} ({g['share']:.1%}, {g['split']})" for g in report["largest"][:3])
    lines = [f"{report['groups']} groups over {report['examples']} examples ({report['singletons']} alone); "
             f"largest: {top}",
             f"split shares: {shares}; off by at most {report['max_gap_points']:.1f} points",
             f"linked by {report['near_duplicate_pairs']} near-duplicate pairs and {report['ngram_links']} shared "
             f"n-grams; {report['boilerplate_ngrams_ignored']} n-grams in more than {report['boilerplate_limit']} "
             "examples ignored as boilerplate"]
    if "paraphrase_links" in report:
        model = report.get("embedding_model")
        lines.append(f"and {report['paraphrase_links']} same-response paraphrase links, "
                     + (f"{report['semantic_pairs']} semantic pairs ({model})" if model else
                        "no semantic pairs (no embedding model configured)"))
    if report.get("warning"):
        lines.append(f"warning: {report['warning']}")
    return "\n".join(lines)
