"""Agreement between reviewers, which Label Studio Community does not compute.

Krippendorff's alpha (the ``krippendorff`` package: handles missing values and any number of
reviewers per unit) is nominal on verdicts and ordinal on the 1-5 ratings; responses are compared
by normalised edit similarity. Figures are given overall, per reviewer pair, and per example."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import krippendorff
import numpy as np

from .labeling import VERDICTS
from .outcomes import edit_similarity

_CODES = {v: i for i, v in enumerate(VERDICTS)}


def alpha(units: dict[int, dict[str, float]], level: str) -> float | None:
    """Alpha over {unit: {reviewer: value}}; None when undefined (fewer than two pairable
    values, or a single value used throughout)."""
    reviewers = sorted({r for values in units.values() for r in values})
    pairable = [u for u, values in units.items() if len(values) >= 2]
    if len(reviewers) < 2 or not pairable:
        return None
    matrix = np.full((len(reviewers), len(pairable)), np.nan)
    for j, unit in enumerate(pairable):
        for reviewer, value in units[unit].items():
            if value is not None:
                matrix[reviewers.index(reviewer), j] = value
    if len(np.unique(matrix[~np.isnan(matrix)])) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))


def _units(rows: list[dict], key: str, code=lambda v: v) -> dict[int, dict[str, float]]:
    units: dict[int, dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r[key] is not None:
            units[r["example_id"]][r["reviewer"]] = code(r[key])
    return units


def agreement(rows: list[dict]) -> dict:
    """``rows``: one per (example, reviewer) with verdict, ratings and response text."""
    verdicts = _units(rows, "verdict", _CODES.__getitem__)
    by_example: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_example[r["example_id"]].append(r)
    examples, pairs = [], defaultdict(lambda: {"shared": 0, "same_verdict": 0, "similarity": []})
    for example_id, reviews in sorted(by_example.items()):
        if len(reviews) < 2:
            continue
        sims = [edit_similarity(a["response"] or "", b["response"] or "") for a, b in combinations(reviews, 2)]
        examples.append({"example_id": example_id, "reviewers": [r["reviewer"] for r in reviews],
                         "verdicts": [r["verdict"] for r in reviews],
                         "agree": len({r["verdict"] for r in reviews}) == 1,
                         "response_similarity": round(min(sims), 4)})
        for a, b in combinations(sorted(reviews, key=lambda r: r["reviewer"]), 2):
            pair = pairs[(a["reviewer"], b["reviewer"])]
            pair["shared"] += 1
            pair["same_verdict"] += a["verdict"] == b["verdict"]
            pair["similarity"].append(edit_similarity(a["response"] or "", b["response"] or ""))
    per_pair = []
    for (a, b), p in sorted(pairs.items()):
        sub = {u: {r: v for r, v in vals.items() if r in (a, b)} for u, vals in verdicts.items()}
        per_pair.append({"reviewers": [a, b], "shared": p["shared"],
                         "percent_agreement": round(p["same_verdict"] / p["shared"], 4),
                         "alpha_verdict": alpha(sub, "nominal"),
                         "mean_response_similarity": round(float(np.mean(p["similarity"])), 4)})
    return {"units": len(examples),
            "alpha_verdict": alpha(verdicts, "nominal"),
            "alpha_correctness": alpha(_units(rows, "rating_correctness"), "ordinal"),
            "alpha_style": alpha(_units(rows, "rating_style"), "ordinal"),
            "mean_response_similarity": round(float(np.mean([e["response_similarity"] for e in examples])), 4)
            if examples else None,
            "disagreements": sum(not e["agree"] for e in examples),
            "pairs": per_pair, "examples": examples}
