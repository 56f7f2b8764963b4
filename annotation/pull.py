"""Both ways verdicts come home: a webhook event, and a reconciliation pull of the export.

Label Studio sends webhooks once, synchronously, with a 1 s timeout and no retry, so a receiver
that is down loses them; ``pull`` compares the export with what the store holds and records
every annotation it lacks or holds in an older form, and a deletion for every annotation the
store holds alive that Label Studio no longer has. Running it twice adds nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from curator.audit import record_audit
from curator.store import transaction

from .client import LabelStudio
from .db import fetch
from .outcomes import recompute
from .parse import parse_annotation
from .record import record_annotation, record_deletion, remember_users
from .setup import project_ids


@dataclass
class PullReport:
    annotations_seen: int = 0
    recorded: int = 0
    deleted: int = 0
    cancelled_skipped: int = 0
    outcomes: dict = field(default_factory=dict)
    adjudication_tasks: int = 0

    def summary(self) -> dict:
        return dict(self.__dict__)


def pull(conn: duckdb.DuckDBPyConnection, client: LabelStudio, actor: str, min_similarity: float) -> PullReport:
    from .push import push_adjudication

    report = PullReport()
    projects = project_ids(conn)
    users = client.users()
    exports = {pid: client.export(pid) for pid in projects.values()}
    touched: set[int] = set()
    with transaction(conn):
        remember_users(conn, users)
        for pid, tasks in exports.items():
            alive = set()
            for task in tasks:
                for ann in task.get("annotations") or []:
                    if ann.get("was_cancelled"):
                        report.cancelled_skipped += 1
                        continue
                    report.annotations_seen += 1
                    alive.add(int(ann["id"]))
                    example = record_annotation(conn, parse_annotation(ann, task_id=task["id"]), "pull")
                    if example is not None:
                        report.recorded += 1
                        touched.add(example)
            for held in fetch(conn, "review.live_annotations", {"project": pid}):
                if held["ls_annotation_id"] not in alive:
                    example = record_deletion(conn, held["ls_annotation_id"], "pull")
                    if example is not None:
                        report.deleted += 1
                        touched.add(example)
        report.outcomes = recompute(conn, touched, min_similarity)
        if report.recorded or report.deleted:
            record_audit(conn, actor, "review.pull", None, {k: v for k, v in report.summary().items()})
    report.adjudication_tasks = push_adjudication(conn, client, actor)
    return report


def handle_webhook(conn: duckdb.DuckDBPyConnection, payload: dict, min_similarity: float) -> dict:
    """One Label Studio webhook payload; returns what changed (nothing for a repeat)."""
    action = payload.get("action")
    touched: set[int] = set()
    with transaction(conn):
        if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED"):
            task = payload.get("task") or {}
            many = payload.get("annotations") if action == "ANNOTATIONS_CREATED" else [payload.get("annotation")]
            for ann in many or []:
                if ann and not ann.get("was_cancelled"):
                    review = parse_annotation(ann, task_id=None if ann.get("task") else task.get("id"))
                    example = record_annotation(conn, review, "webhook")
                    touched |= {example} if example is not None else set()
        elif action == "ANNOTATIONS_DELETED":
            for ann in payload.get("annotations") or []:
                example = record_deletion(conn, int(ann["id"]), "webhook")
                touched |= {example} if example is not None else set()
        else:
            return {"action": action, "ignored": True}
        outcomes = recompute(conn, touched, min_similarity)
    return {"action": action, "examples": sorted(touched), "outcomes": outcomes}
