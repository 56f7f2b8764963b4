"""``curator triage calibrate``: how far the judge can be trusted, measured on examples humans
decided. Agreement: Krippendorff's alpha (ordinal) on the two ratings, accuracy and Cohen's kappa
on accept-or-not. Trust for auto-accept: the lowest judge score whose "accept" precision meets the
target, with bootstrap intervals for the threshold and for the precision at it; every figure says
how many reviewed examples it rests on."""

from __future__ import annotations

from collections import defaultdict

import duckdb
import krippendorff
import numpy as np

from ..errors import InputError
from ..store import rows

MIN_SELECTED = 10  # a threshold that keeps fewer examples than this says nothing


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float | None:
    """Cohen's kappa of two binary raters; None when chance agreement is total (one class only)."""
    observed = float(np.mean(a == b))
    pa, pb = float(np.mean(a)), float(np.mean(b))
    expected = pa * pb + (1 - pa) * (1 - pb)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def _alpha(judge: list, human: list) -> float | None:
    pairs = [(j, h) for j, h in zip(judge, human) if j is not None and h is not None]
    if len(pairs) < 2 or len({v for p in pairs for v in p}) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=np.array(pairs, dtype=float).T, level_of_measurement="ordinal"))


def precision_at(scores: np.ndarray, accepted: np.ndarray, t: float) -> tuple[float | None, int]:
    selected = scores >= t
    n = int(selected.sum())
    return (float(accepted[selected].mean()) if n else None), n


def threshold_for(scores: np.ndarray, accepted: np.ndarray, target: float) -> float | None:
    """The lowest score t with precision(score >= t) >= target over at least MIN_SELECTED examples
    (the lowest such t auto-accepts the most)."""
    order = np.argsort(-scores, kind="stable")
    s, a = scores[order], accepted[order]
    k = np.arange(1, len(s) + 1)
    last_of_tie = np.r_[s[1:] != s[:-1], True]  # a threshold takes every example of its score
    ok = last_of_tie & (k >= MIN_SELECTED) & (np.cumsum(a) / k >= target)
    return float(s[ok].min()) if ok.any() else None


def calibrate_group(pairs: list[dict], target: float, bootstrap: int, seed: int) -> dict:
    scores = np.array([p["score"] for p in pairs], dtype=float)
    human_accept = np.array([p["human_verdict"] == "accept" for p in pairs])
    judge_accept = np.array([p["judge_verdict"] == "accept" for p in pairs])
    out = {"reviewed": len(pairs), "human_accepted": int(human_accept.sum()),
           "alpha_correctness": _alpha([p["correctness"] for p in pairs], [p["human_correctness"] for p in pairs]),
           "alpha_style": _alpha([p["style"] for p in pairs], [p["human_style"] for p in pairs]),
           "accuracy": float(np.mean(judge_accept == human_accept)) if pairs else None,
           "kappa": cohen_kappa(judge_accept, human_accept) if pairs else None,
           "target_precision": target, "threshold": None, "threshold_ci": None, "precision": None,
           "precision_lower": None, "auto_acceptable": 0}
    t = threshold_for(scores, human_accept, target) if pairs else None
    if t is None:
        return out
    rng = np.random.default_rng(seed)
    thresholds, precisions = [], []
    for _ in range(bootstrap):
        idx = rng.integers(0, len(pairs), len(pairs))
        tb = threshold_for(scores[idx], human_accept[idx], target)
        thresholds.append(np.inf if tb is None else tb)  # no threshold in a resample: as strict as can be
        pb, _ = precision_at(scores[idx], human_accept[idx], t)
        precisions.append(0.0 if pb is None else pb)
    out.update(threshold=t, precision=precision_at(scores, human_accept, t)[0],
               auto_acceptable=precision_at(scores, human_accept, t)[1],
               threshold_ci=[float(np.percentile(thresholds, 2.5)), float(np.percentile(thresholds, 97.5))],
               precision_lower=float(np.percentile(precisions, 5)))  # one-sided 95 %
    return out


def calibrate(conn: duckdb.DuckDBPyConnection, *, model: str | None = None, template_hash: str | None = None,
              target: float = 0.95, bootstrap: int = 1000, seed: int = 0) -> dict:
    """Judge–human agreement and the auto-accept threshold, overall and per source and template."""
    if not 0 < target < 1:
        raise InputError(f"--target must be between 0 and 1, got {target}")
    if bootstrap < 100:
        raise InputError("--bootstrap must be at least 100 resamples")
    if model is None or template_hash is None:
        latest = rows(conn, "judge.latest_lineage")
        if not latest:
            raise InputError("no judgements yet: run `curator triage judge` first")
        model, template_hash = model or latest[0]["model"], template_hash or latest[0]["template_hash"]
    pairs = rows(conn, "judge.paired", {"model": model, "template_hash": template_hash})
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for p in pairs:
        groups[(p["source"], p["template"])].append(p)
    return {"model": model, "template_hash": template_hash, "bootstrap": bootstrap, "seed": seed,
            "overall": calibrate_group(pairs, target, bootstrap, seed),
            "groups": [{"source": s, "template": t, **calibrate_group(g, target, bootstrap, seed)}
                       for (s, t), g in sorted(groups.items())]}
