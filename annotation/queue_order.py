"""The order of ``review push``: spend expert time where it matters.

``uncertainty``: examples whose judge score is nearest 0.5 first (unjudged ones count as fully
uncertain), since a confident judge's call is the one least worth a human minute. ``coverage``:
groups of source x class x length bin that reviewers have seen least come first, round-robin,
so one large source cannot fill the queue. ``id``: the order of arrival."""

from __future__ import annotations

import math
from collections import Counter

import duckdb

from curator.errors import InputError

from .db import fetch

ORDERS = ("id", "uncertainty", "coverage")


def length_bin(chars: int) -> str:
    """Powers of two of characters: 256-511, 512-1023, ... (a coarse, stable bucketing)."""
    low = 2 ** max(6, int(math.log2(max(1, chars))))
    return f"{low}-{2 * low - 1}"


def order_candidates(conn: duckdb.DuckDBPyConnection, candidates: list[dict], order: str) -> tuple[list[dict], dict]:
    """(candidates in push order, why: a summary of what the order did)."""
    if order not in ORDERS:
        raise InputError(f"--order must be one of {', '.join(ORDERS)}, got {order!r}")
    if order == "id" or not candidates:
        return candidates, {"order": order}
    features = {f["id"]: f for f in fetch(conn, "quality.queue_features", {"ids": [c["id"] for c in candidates]})}
    if order == "uncertainty":
        def distance(c: dict) -> float:
            score = features[c["id"]]["score"]
            return 0.0 if score is None else abs(score - 0.5)

        ranked = sorted(candidates, key=lambda c: (distance(c), c["id"]))
        judged = [features[c["id"]]["score"] for c in ranked if features[c["id"]]["score"] is not None]
        return ranked, {"order": order, "unjudged_first": len(ranked) - len(judged),
                        "judged": len(judged), "most_uncertain_scores": [round(s, 3) for s in judged[:5]]}
    covered = Counter((r["source"], r["class"], length_bin(r["chars"])) for r in fetch(conn, "quality.queue_covered"))
    seen: Counter = Counter()
    keyed = []
    for c in candidates:  # candidates come in id order: the i-th of a group gets rank covered + i
        f = features[c["id"]]
        group = (c["source"], f["class"], length_bin(f["chars"]))
        keyed.append((covered[group] + seen[group], c["id"], group, c))
        seen[group] += 1
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [k[3] for k in keyed], {"order": order, "groups": [
        {"source": g[0], "class": g[1], "length": g[2], "already_covered": covered[g], "candidates": n}
        for g, n in sorted(seen.items(), key=lambda kv: covered[kv[0]])]}
