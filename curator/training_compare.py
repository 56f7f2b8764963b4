"""``curator training compare RUN RUN…``: did the new data help?

Runs on different versions of the same dataset are put side by side: the data delta between
consecutive runs' versions (``version diff``: examples added, removed, edited, moved between
splits) next to the delta of every evaluation metric (test-split scores of the base, fine-tuned
and merged models, validation loss). The first run is the reference; each later run is compared
with the one before it. When the test split itself changed the metrics are not measured on the
same examples, and the comparison says how many test examples differ.
"""

from __future__ import annotations

import duckdb

from .errors import InputError
from .training_jobs import eval_results, refresh


def _metrics(conn: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, float]:
    return {f"{r['model']}/{r['split']}/{r['metric']}": r["value"] for r in eval_results(conn, run_id)}


def _data_delta(conn: duckdb.DuckDBPyConnection, a: str, b: str) -> dict:
    """What changed from version ``a`` to ``b`` (same name), as counts with the first ids."""
    from .versions import VersionNotFound, diff_versions, parse_ref

    if a == b:
        return {"same_version": True}
    if parse_ref(a).name != parse_ref(b).name:
        return {"different_datasets": True, "note": f"{a} and {b} are different datasets: no data delta"}
    try:
        d = diff_versions(conn, a, b)
    except VersionNotFound as exc:  # a run on an export whose version is not in this store
        return {"note": f"no data delta: {exc}"}
    test_changed = sum(1 for m in d["moved"] if "test" in (m["from"], m["to"]))
    return {"added": len(d["added"]), "removed": len(d["removed"]), "edited": len(d["changed"]),
            "moved": len(d["moved"]), "unchanged": d["unchanged"], "test_changed": test_changed,
            "examples": {k: d[k][:20] for k in ("added", "removed", "changed")}}


def compare_runs(conn: duckdb.DuckDBPyConnection, run_ids: list[int]) -> dict:
    """The runs in the order given, each with its metrics, and per later run the data delta and
    metric deltas from the run before it."""
    if len(run_ids) < 2 or len(set(run_ids)) != len(run_ids):
        raise InputError(f"training compare needs two or more different run ids, got {run_ids}")
    runs = []
    for run_id in run_ids:
        row = refresh(conn, run_id)
        if row["status"] != "succeeded":
            raise InputError(f"training run {run_id} is {row['status']}: only finished runs have metrics to compare")
        runs.append({"id": run_id, "version": row["version_ref"], "content_hash": row["content_hash"],
                     "base_model": row["base_model"], "metrics": _metrics(conn, run_id)})
    steps = []
    for prev, cur in zip(runs, runs[1:]):
        shared = sorted(prev["metrics"].keys() & cur["metrics"].keys())
        steps.append({"from": prev["id"], "to": cur["id"], "from_version": prev["version"],
                      "to_version": cur["version"], "data": _data_delta(conn, prev["version"], cur["version"]),
                      "metrics": {k: {"from": prev["metrics"][k], "to": cur["metrics"][k],
                                      "delta": cur["metrics"][k] - prev["metrics"][k]} for k in shared}})
    return {"runs": runs, "steps": steps}


def latest_per_dataset(conn: duckdb.DuckDBPyConnection, limit: int = 500) -> list[dict]:
    """For the stats page: per dataset name, the newest finished run on each of its two newest
    versions that have one, compared (the step ``compare_runs`` gives for the pair)."""
    from .training_jobs import list_runs
    from .versions import parse_ref

    newest: dict[str, dict[str, int]] = {}  # dataset name → version ref → newest finished run id
    for r in sorted(list_runs(conn, limit), key=lambda r: r["id"]):
        if r["status"] == "succeeded" and "@" in (r["version_ref"] or ""):
            refs = newest.setdefault(parse_ref(r["version_ref"]).name, {})
            refs.pop(r["version_ref"], None)  # re-inserted last: dicts keep insertion order
            refs[r["version_ref"]] = r["id"]
    return [compare_runs(conn, list(refs.values())[-2:])["steps"][0]
            for _, refs in sorted(newest.items()) if len(refs) >= 2]
