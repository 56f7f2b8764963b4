"""Auto-accept, only when earned. A steward's policy for one source and template is granted only
if, on at least ``min_reviewed`` human-reviewed examples, the bootstrap lower bound of "accept"
precision at the threshold meets the target; otherwise it is refused with the numbers. A run
approves candidates at or above the threshold with that provenance, sends a random share to the
humans as an audit sample, and switches the policy off once the audit's precision falls below
the target."""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np

from ..audit import record_audit
from ..errors import InputError
from ..sqlfiles import query
from ..store import rows, transaction
from .calibrate import precision_at

MIN_AUDIT = 20  # decided audit examples before the audit's precision may switch a policy off


def _lineage(conn: duckdb.DuckDBPyConnection, model: str | None, template_hash: str | None) -> tuple[str, str]:
    if model and template_hash:
        return model, template_hash
    latest = rows(conn, "judge.latest_lineage")
    if not latest:
        raise InputError("no judgements yet: run `curator triage judge` first")
    return model or latest[0]["model"], template_hash or latest[0]["template_hash"]


def enable(conn: duckdb.DuckDBPyConnection, actor: str, *, source: str, template: str, threshold: float,
           target: float = 0.95, min_reviewed: int = 200, audit_share: float = 0.05, bootstrap: int = 1000,
           seed: int = 0, model: str | None = None, template_hash: str | None = None) -> dict:
    """Grant a policy, or raise ``InputError`` saying which number falls short."""
    if not 0 <= threshold <= 1 or not 0 < target < 1 or not 0 < audit_share < 1:
        raise InputError("--threshold must be in [0, 1], --target and --audit-share in (0, 1)")
    model, template_hash = _lineage(conn, model, template_hash)
    pairs = [p for p in rows(conn, "judge.paired", {"model": model, "template_hash": template_hash})
             if p["source"] == source and p["template"] == template]
    scores = np.array([p["score"] for p in pairs], dtype=float)
    accepted = np.array([p["human_verdict"] == "accept" for p in pairs])
    precision, selected = precision_at(scores, accepted, threshold) if pairs else (None, 0)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(bootstrap if pairs else 0):
        idx = rng.integers(0, len(pairs), len(pairs))
        boots.append(precision_at(scores[idx], accepted[idx], threshold)[0] or 0.0)
    lower = float(np.percentile(boots, 5)) if boots else None
    numbers = (f"{len(pairs)} human-reviewed examples of {source}/{template} (need {min_reviewed}), {selected} at or "
               f"above {threshold}, precision {precision if precision is None else round(precision, 4)}, lower "
               f"bound {lower if lower is None else round(lower, 4)} (target {target})")
    if len(pairs) < min_reviewed or lower is None or lower < target:
        raise InputError(f"auto-accept refused: {numbers}")
    with transaction(conn):
        policy_id = conn.execute(query("judge.insert_policy"), {
            "source": source, "template": template, "model": model, "template_hash": template_hash,
            "threshold": threshold, "target": target, "reviewed": len(pairs), "precision_lower": lower,
            "audit_share": audit_share, "actor": actor}).fetchone()[0]
        record_audit(conn, actor, "triage.auto_accept.enable", f"auto-accept:{policy_id}", {"granted": numbers})
    return {"policy_id": policy_id, "granted": numbers, "reviewed": len(pairs), "precision": precision,
            "precision_lower": lower, "threshold": threshold, "target": target}


def drawn_for_audit(policy_id: int, example_id: int, share: float) -> bool:
    """A reproducible random draw: the same example and policy always draw the same way."""
    digest = hashlib.sha256(f"{policy_id}:{example_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def audit_state(conn: duckdb.DuckDBPyConnection, policy: dict) -> dict:
    """The audit sample's agreement over time: decided, accepted, precision, and per day."""
    outcomes = rows(conn, "judge.audit_outcomes", {"policy_id": policy["id"]})
    by_day: dict[str, list[int]] = {}
    for o in outcomes:
        day = by_day.setdefault(str(o["decided_at"])[:10], [0, 0])
        day[0] += 1
        day[1] += bool(o["accepted"])
    accepted = sum(bool(o["accepted"]) for o in outcomes)
    return {"audit_reviewed": len(outcomes), "audit_accepted": accepted,
            "audit_precision": accepted / len(outcomes) if outcomes else None,
            "timeline": [{"day": d, "reviewed": n, "accepted": a} for d, (n, a) in sorted(by_day.items())]}


def run(conn: duckdb.DuckDBPyConnection, actor: str) -> dict:
    """Apply every enabled policy: first check its audit (switch off below target), then decide
    the new candidates at or above its threshold."""
    report = []
    for policy in rows(conn, "judge.enabled_policies"):
        state = audit_state(conn, policy)
        entry = {"policy_id": policy["id"], "source": policy["source"], "template": policy["template"], **state,
                 "auto_accepted": 0, "audit_sample": 0, "disabled": None}
        with transaction(conn):
            if state["audit_reviewed"] >= MIN_AUDIT and state["audit_precision"] < policy["target"]:
                reason = (f"audit precision {state['audit_precision']:.3f} on {state['audit_reviewed']} reviewed "
                          f"examples is below the target {policy['target']}")
                conn.execute(query("judge.disable_policy"), {"id": policy["id"], "reason": reason})
                record_audit(conn, actor, "triage.auto_accept.disable", f"auto-accept:{policy['id']}", {"reason": reason})
                entry["disabled"] = reason
                report.append(entry)
                continue
            found = rows(conn, "judge.policy_candidates", {k: policy[k] for k in
                                                           ("source", "template", "model", "template_hash", "threshold")})
            decided = [(c["id"], policy["id"], c["score"], drawn_for_audit(policy["id"], c["id"], policy["audit_share"]))
                       for c in found]
            if decided:
                conn.executemany(query("judge.auto_accept_insert"), decided)
                approve = [d[0] for d in decided if not d[3]]
                conn.executemany(query("judge.auto_accept_approve"), [(policy["id"], d[2], d[0]) for d in decided if not d[3]])
                entry["auto_accepted"], entry["audit_sample"] = len(approve), len(decided) - len(approve)
                record_audit(conn, actor, "triage.auto_accept.run", f"auto-accept:{policy['id']}",
                             {"auto_accepted": len(approve), "audit_sample": entry["audit_sample"]})
        report.append(entry)
    return {"policies": report}


def status(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every policy, enabled or switched off, with its audit's agreement over time."""
    return [{**p, **audit_state(conn, p)} for p in rows(conn, "judge.policies")]
