"""Both ways verdicts come home: a webhook event, and a reconciliation pull of the export.

Label Studio sends webhooks once, synchronously, with a 1 s timeout and no retry, so a receiver
that is down loses them; ``pull`` compares the export with what the store holds and records
every annotation it lacks or holds in an older form, and a deletion for every annotation the
store holds alive that Label Studio no longer has. Running it twice adds nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from curator.audit import record_audit, record_audits
from curator.store import transaction

from .client import LabelStudio
from .outcomes import recompute
from .parse import MAX_ID, InvalidAnnotation, parse_annotation
from .record import Recorder, remember_users
from .setup import project_ids


@dataclass
class PullReport:
    annotations_seen: int = 0
    recorded: int = 0
    deleted: int = 0
    cancelled_skipped: int = 0
    invalid: list = field(default_factory=list)   # annotations that cannot be read, with the reason
    outcomes: dict = field(default_factory=dict)
    adjudication_tasks: int = 0

    def summary(self) -> dict:
        return dict(self.__dict__)


def pull(conn: duckdb.DuckDBPyConnection, client: LabelStudio, actor: str, min_similarity: float) -> PullReport:
    from .push import push_adjudication

    report = PullReport()
    projects = project_ids(conn)
    users = client.users()
    exports = {pid: client.export_snapshot(pid) for pid in projects.values()}
    touched: set[int] = set()
    with transaction(conn):
        remember_users(conn, users)
        recorder = Recorder(conn, "pull")
        for pid, tasks in exports.items():
            alive = set()
            for task in tasks:
                for ann in task.get("annotations") or []:
                    if ann.get("was_cancelled"):  # a Skip: recorded as a skip, never as a verdict
                        report.cancelled_skipped += 1
                    report.annotations_seen += 1
                    alive.add(int(ann["id"]))
                    try:  # one unreadable annotation must not hold back everyone else's verdicts
                        review = parse_annotation(ann, task_id=task["id"])
                    except InvalidAnnotation as exc:
                        report.invalid.append({"annotation": ann.get("id"), "task": task.get("id"),
                                               "error": str(exc)})
                        continue
                    example = recorder.annotation(review)
                    if example is not None:
                        report.recorded += 1
                        touched.add(example)
            for held in recorder.live(pid):
                if held not in alive:
                    touched.add(recorder.deletion(held))
                    report.deleted += 1
        recorder.flush()
        report.outcomes = recompute(conn, touched, min_similarity)
        if report.recorded or report.deleted:
            record_audit(conn, actor, "review.pull", None, report.summary())
    report.adjudication_tasks = push_adjudication(conn, client, actor)
    return report


def parse_webhook(payload: dict) -> tuple[str | None, list, list[int]] | None:
    """What a Label Studio webhook payload says: (action, reviews, deleted annotation ids), or
    None for an event we do not record. Needs no store, so the receiver refuses a malformed
    payload (``InvalidAnnotation``) before it is queued."""
    action = payload.get("action")
    if action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED"):
        task = payload.get("task") or {}
        many = payload.get("annotations") if action == "ANNOTATIONS_CREATED" else [payload.get("annotation")]
        if not isinstance(many, list) or not all(a is None or isinstance(a, dict) for a in many):
            raise InvalidAnnotation(f"{action}: the annotation must be an object")
        reviews = [parse_annotation(a, task_id=None if a.get("task") else task.get("id"))
                   for a in many or [] if a]  # a skip (was_cancelled) is recorded as a skip
        return action, reviews, []
    if action == "ANNOTATIONS_DELETED":
        try:
            ids = [int(a["id"]) for a in payload.get("annotations") or []]
        except (KeyError, TypeError, ValueError):
            raise InvalidAnnotation(f"{action}: every annotation needs an integer id") from None
        if any(not 0 <= i <= MAX_ID for i in ids):
            raise InvalidAnnotation(f"{action}: an annotation id is out of range (0..{MAX_ID})")
        return action, [], ids
    return None


def handle_webhooks(conn: duckdb.DuckDBPyConnection, payloads: list[dict], min_similarity: float,
                    actor: str = "label-studio:webhook") -> dict:
    """Webhook payloads in arrival order, in one transaction: the service's inbox applies what
    arrived during a long job as a batch (one task map, one insert, one recompute) instead of a
    transaction per delivery. Each delivery keeps its own audit row. Returns what changed."""
    events = [(p.get("action"), parsed) for p in payloads if (parsed := parse_webhook(p)) is not None]
    if not events:
        return {"action": payloads[-1].get("action") if payloads else None, "ignored": True}
    reviews = [r for _, (_, rs, _) in events for r in rs]
    deleted_ids = [a for _, (_, _, ds) in events for a in ds]
    touched: set[int] = set()
    with transaction(conn):
        recorder = Recorder(conn, "webhook", task_ids=[r.ls_task_id for r in reviews],
                            annotation_ids=[r.ls_annotation_id for r in reviews] + deleted_ids)
        changes = []
        for action, (_, event_reviews, deleted) in events:
            mine = {recorder.annotation(review) for review in event_reviews}
            mine |= {recorder.deletion(annotation_id) for annotation_id in deleted}
            mine.discard(None)
            touched |= mine
            changes.append((action, sorted(mine)))
        recorder.flush()
        outcomes = recompute(conn, touched, min_similarity)
        record_audits(conn, [(actor, f"review.{action.lower()}", None,
                              {"action": action, "examples": examples, "batch_outcomes": outcomes})
                             for action, examples in changes if examples])
    return {"action": events[-1][0], "examples": sorted(touched), "outcomes": outcomes}
