"""Class-balanced (stratified) grouped splits: ``version create --stratify-by EXPR``.

A skewed split gives a model that only learns the majority class, and a class missing from test
cannot be measured. Plain hash-order placement keeps shares right overall but lets a small class
drift by several points per split. Here every example has a class (the expression's value: a
metadata key, or ``response`` when the assistant reply is the label), and whole groups are placed
so each class's share per split tracks the requested shares:

groups in order of size (largest first, then the seeded hash, so the same inputs give the same
splits), each to the split whose class deficit (requested count minus placed count, relative to
the class size, summed over the group's members) is largest. Large groups land first while every
split still has room; the many small groups that follow fill each class's splits to within about
one example of the request. Groups are never cut, so near-duplicates, sources and the other
relations the leakage gate checks stay on one side.
"""

from __future__ import annotations

from collections import Counter

import duckdb

from .errors import FilterError
from .filters import VIEW, validate
from .splits import SPLITS, Member, group_keys, position

NULL_CLASS = "(null)"  # the class of examples whose expression is NULL
DEFAULT_MIN_CLASS_SHARE = 0.10


def class_labels(conn: duckdb.DuckDBPyConnection, expr: str, ids: list[int]) -> dict[int, str]:
    """Example id → its class (the expression as text; NULL → ``(null)``), checked like ``--where``."""
    text = validate(conn, f"({expr}) IS NOT NULL", "--stratify-by")[1:-len(") IS NOT NULL")]
    sql = f"SELECT id, CAST(({text}) AS VARCHAR) FROM {VIEW} WHERE id IN (SELECT unnest($ids::BIGINT[]))"
    with conn.cursor() as cur:
        try:
            found = dict(cur.execute(sql, {"ids": ids}).fetchall())
        except duckdb.Error as exc:
            raise FilterError(f"--stratify-by {expr!r} failed: {str(exc).splitlines()[0]}") from None
    return {i: NULL_CLASS if found.get(i) is None else found[i] for i in ids}


def place_stratified(groups: dict[str, Counter], seed: int, shares: dict[str, float],
                     frozen: set[str]) -> dict[str, str]:
    """Group key → split. ``groups``: group key → Counter of classes of its members; frozen groups
    go to test (and count there) as in unstratified placement."""
    totals: Counter = Counter()
    for members in groups.values():
        totals.update(members)
    placed_counts = {c: dict.fromkeys(SPLITS, 0) for c in totals}
    placed: dict[str, str] = {}
    for g in frozen:
        placed[g] = "test"
        for c, n in groups[g].items():
            placed_counts[c]["test"] += n
    order = sorted((g for g in groups if g not in frozen),
                   key=lambda g: (-sum(groups[g].values()), position(g, seed), g))
    for g in order:
        def deficit(split: str) -> float:
            return sum(n * (shares[split] * totals[c] - placed_counts[c][split]) / totals[c]
                       for c, n in groups[g].items())
        best = max(SPLITS, key=lambda s: (shares[s] > 0, deficit(s), -SPLITS.index(s)))
        placed[g] = best
        for c, n in groups[g].items():
            placed_counts[c][best] += n
    return placed


def assign_stratified(members: list[Member], seed: int, shares: dict[str, float], frozen_test: set[int],
                      links, labels: dict[int, str]) -> dict[int, tuple[str, str]]:
    """``splits.assign`` class by class: example id → (split, group_key), the same groups."""
    keys = group_keys(members, links)
    classes: dict[str, Counter] = {}
    for i, key in keys.items():
        classes.setdefault(key, Counter())[labels[i]] += 1
    placed = place_stratified(classes, seed, shares, {keys[i] for i in frozen_test if i in keys})
    return {i: (placed[key], key) for i, key in keys.items()}


def class_report(placed: list[tuple[str, str]], shares: dict[str, float], min_share: float) -> dict:
    """Per class: examples per split, the split shares achieved, how far off the request (points),
    its share of the version; warnings for classes under ``min_share``. ``placed``: (split, class)."""
    n = len(placed)
    counts: dict[str, dict[str, int]] = {}
    for split, label in placed:
        counts.setdefault(label, dict.fromkeys(SPLITS, 0))[split] += 1
    classes = {}
    for label in sorted(counts, key=lambda c: (-sum(counts[c].values()), c)):
        k = sum(counts[label].values())
        achieved = {s: round(counts[label][s] / k, 4) for s in SPLITS}
        classes[label] = {"examples": k, "share": round(k / n, 4), "splits": counts[label], "achieved": achieved,
                          "max_gap_points": round(max(abs(achieved[s] - shares[s]) for s in SPLITS) * 100, 2)}
    per_split = {s: {c: v["splits"][s] for c, v in classes.items()} for s in SPLITS}
    warnings = [f"class {c!r} is {v['share']:.1%} of the examples ({v['examples']} of {n}), under the "
                f"{min_share:.0%} floor: a model trained on it may do well on the majority class only "
                "(consider more data, or `curator export --balance oversample|undersample`)"
                for c, v in classes.items() if v["share"] < min_share]
    return {"classes": classes, "per_split": per_split, "min_class_share": min_share,
            "max_gap_points": max((v["max_gap_points"] for v in classes.values()), default=0.0),
            "warnings": warnings}


def describe_classes(report: dict) -> str:
    """The class distribution in a few lines for the terminal."""
    lines = [f"classes ({len(report['classes'])}; off the requested shares by at most "
             f"{report['max_gap_points']:.1f} points):"]
    for c, v in report["classes"].items():
        splits = " / ".join(f"{s} {v['splits'][s]} ({v['achieved'][s]:.1%})" for s in SPLITS)
        lines.append(f"  {c}: {v['examples']} ({v['share']:.1%}): {splits}")
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)
