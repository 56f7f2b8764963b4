"""Annotation events into ``reviews`` (history rows).

Idempotent by construction: an event whose ``payload_hash`` equals the annotation's newest row
adds nothing, a deletion of an annotation already deleted adds nothing, so a webhook and a pull
of the same annotation (in any order, any number of times) leave one row. A ``Recorder`` loads
the task map and each annotation's newest row once and inserts its rows in one statement, so a
pull of 10,000 annotations is a handful of queries, not tens of thousands."""

from __future__ import annotations

import duckdb
import orjson
import pyarrow as pa

from curator.sqlfiles import query

from .db import fetch
from .outcomes import outcome_of, review_texts, task_turns
from .parse import Review, edit_diff

COLUMNS = pa.schema([
    ("example_id", pa.int64()), ("ls_project_id", pa.int64()), ("ls_task_id", pa.int64()),
    ("ls_annotation_id", pa.int64()), ("event", pa.string()), ("received_via", pa.string()),
    ("is_adjudication", pa.bool_()), ("ls_user_id", pa.int64()), ("reviewer", pa.string()),
    ("verdict", pa.string()), ("edited_response", pa.string()), ("edit_diff", pa.string()),
    ("rating_correctness", pa.int32()), ("rating_style", pa.int32()), ("reasons", pa.string()),
    ("comment", pa.string()), ("lead_time", pa.float64()),
    ("annotation_created_at", pa.timestamp("us", tz="UTC")), ("annotation_updated_at", pa.timestamp("us", tz="UTC")),
    ("payload_hash", pa.string()), ("edited_turns", pa.string()), ("skipped", pa.bool_()), ("outcome", pa.string())])


def turns_diff(drafts: list[str], texts: list[str | None]) -> str | None:
    """The unified diff of each changed box against its draft, headed by the turn; None when
    nothing changed."""
    parts = []
    for n, (draft, text) in enumerate(zip(drafts, texts), 1):
        diff = edit_diff(draft, text)
        if diff:
            parts.append(diff if len(drafts) == 1 else f"turn {n}:\n{diff}")
    return "\n".join(parts) or None


def remember_users(conn: duckdb.DuckDBPyConnection, users: list[dict]) -> None:
    for user in users:
        if user.get("id") is not None and user.get("email"):
            conn.execute(query("review.upsert_user"), {"ls_user_id": user["id"], "email": user["email"]})


class Recorder:
    """Collects review rows for one transaction; ``flush`` writes them. ``task_ids`` and
    ``annotation_ids`` narrow what is loaded (a webhook); None loads everything (a pull)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, via: str, task_ids: list[int] | None = None,
                 annotation_ids: list[int] | None = None):
        self.conn, self.via, self.rows = conn, via, []
        self.tasks = {t["ls_task_id"]: t for t in fetch(conn, "review.tasks_by_id", {"task_ids": task_ids})}
        self.latest = {e["ls_annotation_id"]: e for e in fetch(conn, "review.latest_events",
                                                               {"annotation_ids": annotation_ids})}
        self.users = {u["ls_user_id"]: u["email"] for u in fetch(conn, "review.user_emails")}

    def _add(self, row: dict) -> int:
        self.rows.append(row)
        self.latest[row["ls_annotation_id"]] = row
        return row["example_id"]

    def annotation(self, review: Review) -> int | None:
        """Queue a row when the annotation is new or changed; its example id, else None (nothing
        changed, or the task is not one of ours)."""
        task = self.tasks.get(review.ls_task_id)
        if task is None:
            return None
        latest = self.latest.get(review.ls_annotation_id)
        if latest and latest["event"] != "deleted" and latest["payload_hash"] == review.payload_hash:
            return None
        drafts = [t["text"] for t in task_turns(task)]
        answer = {"verdict": review.verdict, "edited_response": review.edited_response, "skipped": review.skipped,
                  "edited_turns": review.edited_turns}
        texts = review_texts(answer, len(drafts))
        return self._add({
            "example_id": task["example_id"], "ls_project_id": task["ls_project_id"],
            "ls_task_id": review.ls_task_id, "ls_annotation_id": review.ls_annotation_id,
            "event": "created" if latest is None or latest["event"] == "deleted" else "updated",
            "received_via": self.via, "is_adjudication": task["role"] == "adjudication",
            "ls_user_id": review.ls_user_id,
            "reviewer": self.users.get(review.ls_user_id, f"ls-user:{review.ls_user_id}"),
            "verdict": review.verdict, "edited_response": review.edited_response,
            "edit_diff": turns_diff(drafts, texts),
            "rating_correctness": review.rating_correctness, "rating_style": review.rating_style,
            "reasons": orjson.dumps(review.reasons).decode(), "comment": review.comment,
            "lead_time": review.lead_time, "annotation_created_at": review.created_at,
            "annotation_updated_at": review.updated_at, "payload_hash": review.payload_hash,
            "edited_turns": None if review.edited_turns is None else orjson.dumps(review.edited_turns).decode(),
            "skipped": review.skipped, "outcome": outcome_of(answer, drafts)})

    def deletion(self, annotation_id: int) -> int | None:
        """Queue a deletion copying who and where from the annotation's last row; None if the
        annotation is unknown or already deleted."""
        latest = self.latest.get(annotation_id)
        if latest is None or latest["event"] == "deleted":
            return None
        return self._add({name: None for name in COLUMNS.names} | {
            k: latest[k] for k in ("example_id", "ls_project_id", "ls_task_id", "ls_user_id", "reviewer",
                                   "is_adjudication")} | {
            "ls_annotation_id": annotation_id, "event": "deleted", "received_via": self.via, "reasons": "[]",
            "skipped": False,
            "payload_hash": f"deleted:{annotation_id}"})

    def live(self, project: int) -> list[int]:
        """Annotations of a project held as alive, including rows queued in this transaction."""
        return [a for a, e in self.latest.items() if e["ls_project_id"] == project and e["event"] != "deleted"]

    def flush(self) -> int:
        if not self.rows:
            return 0
        table = pa.Table.from_pylist(self.rows, schema=COLUMNS)
        self.conn.register("new_reviews", table)
        try:
            self.conn.execute(query("review.insert_review_batch"))
        finally:
            self.conn.unregister("new_reviews")
        written, self.rows = len(self.rows), []
        return written
