"""``curator export --balance oversample|undersample``: the train split with its classes evened out.

For those who want it: a skewed train split teaches the majority class. Only train is touched
(validation and test keep the real distribution, so metrics stay honest), only for a version cut
with ``--stratify-by`` (its items carry the class the splitter used), and the sampling is seeded
(numpy's PCG64), so the same version, method and seed give the same files; the manifest records
method, seed and the class counts before and after.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..errors import InputError

METHODS = ("none", "oversample", "undersample")


def rebalance(items: list[dict], version: dict, method: str, seed: int) -> tuple[list[dict], dict | None]:
    """The train items after balancing (in example order, repeats next to their original) and what
    was done; ``none`` returns them as they are and ``None``."""
    if method not in METHODS:
        raise InputError(f"--balance must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "none":
        return items, None
    by = (version.get("grouping") or {}).get("stratify_by")
    if not by or any(i.get("label") is None for i in items):
        raise InputError(f"--balance {method} needs each example's class: {version['ref']} was not cut with "
                         "--stratify-by; create a version with `curator version create NAME --stratify-by EXPR`")
    if seed < 0:
        raise InputError(f"--balance-seed must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(seed)
    classes: dict[str, list[int]] = {}
    for k, item in enumerate(items):
        classes.setdefault(item["label"], []).append(k)
    before = {c: len(v) for c, v in sorted(classes.items())}
    target = max(before.values()) if method == "oversample" else min(before.values(), default=0)
    picked: list[int] = []
    for label in sorted(classes):
        members = classes[label]
        n = len(members)
        if method == "oversample":  # whole copies first, then a seeded draw without repeats for the rest
            extra = target - n
            picked += members * (1 + extra // n) + [members[j] for j in rng.choice(n, extra % n, replace=False)]
        else:
            picked += [members[j] for j in rng.choice(n, target, replace=False)]
    out = [items[k] for k in sorted(picked, key=lambda k: (items[k]["example_id"], k))]
    after = dict(sorted(Counter(i["label"] for i in out).items()))
    return out, {"method": method, "seed": seed, "by": by, "split": "train", "before": before, "after": after}
