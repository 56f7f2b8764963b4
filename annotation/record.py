"""Annotation events into ``reviews`` (history rows), then each touched example's outcome.

Idempotent by construction: an event whose ``payload_hash`` equals the annotation's newest row
adds nothing, a deletion of an annotation already deleted adds nothing, so a webhook and a pull
of the same annotation (in any order, any number of times) leave one row."""

from __future__ import annotations

import duckdb
import orjson

from curator.sqlfiles import query

from .db import fetch
from .parse import Review, edit_diff


def _one(conn, name: str, params: dict) -> dict | None:
    found = fetch(conn, name, params)
    return found[0] if found else None


def remember_users(conn: duckdb.DuckDBPyConnection, users: list[dict]) -> None:
    for user in users:
        if user.get("id") is not None and user.get("email"):
            conn.execute(query("review.upsert_user"), {"ls_user_id": user["id"], "email": user["email"]})


def reviewer_name(conn: duckdb.DuckDBPyConnection, user_id: int | None) -> str:
    found = conn.execute("SELECT email FROM review_users WHERE ls_user_id = ?", [user_id]).fetchone()
    return found[0] if found else f"ls-user:{user_id}"


def record_annotation(conn: duckdb.DuckDBPyConnection, review: Review, via: str) -> int | None:
    """Add a row when the annotation is new or changed; return its example id, None when nothing
    changed or the task is not one of ours."""
    task = _one(conn, "review.task", {"ls_task_id": review.ls_task_id})
    if task is None:
        return None
    latest = _one(conn, "review.latest_event", {"id": review.ls_annotation_id})
    if latest and latest["event"] != "deleted" and latest["payload_hash"] == review.payload_hash:
        return None
    event = "created" if latest is None or latest["event"] == "deleted" else "updated"
    conn.execute(query("review.insert_review"), {
        "example_id": task["example_id"], "ls_project_id": task["ls_project_id"],
        "ls_task_id": review.ls_task_id, "ls_annotation_id": review.ls_annotation_id, "event": event,
        "received_via": via, "is_adjudication": task["role"] == "adjudication", "ls_user_id": review.ls_user_id,
        "reviewer": reviewer_name(conn, review.ls_user_id), "verdict": review.verdict,
        "edited_response": review.edited_response, "edit_diff": edit_diff(task["draft"], review.edited_response),
        "rating_correctness": review.rating_correctness, "rating_style": review.rating_style,
        "reasons": orjson.dumps(review.reasons).decode(), "comment": review.comment,
        "lead_time": review.lead_time, "annotation_created_at": review.created_at,
        "annotation_updated_at": review.updated_at, "payload_hash": review.payload_hash})
    return task["example_id"]


def record_deletion(conn: duckdb.DuckDBPyConnection, annotation_id: int, via: str) -> int | None:
    """A deletion row copying who and where from the annotation's last row; None if unknown or
    already deleted."""
    latest = _one(conn, "review.latest_event", {"id": annotation_id})
    if latest is None or latest["event"] == "deleted":
        return None
    conn.execute(query("review.insert_review"), {
        "example_id": latest["example_id"], "ls_project_id": latest["ls_project_id"],
        "ls_task_id": latest["ls_task_id"], "ls_annotation_id": annotation_id, "event": "deleted",
        "received_via": via, "is_adjudication": latest["is_adjudication"], "ls_user_id": latest["ls_user_id"],
        "reviewer": latest["reviewer"], "verdict": None, "edited_response": None, "edit_diff": None,
        "rating_correctness": None, "rating_style": None, "reasons": "[]", "comment": None, "lead_time": None,
        "annotation_created_at": None, "annotation_updated_at": None, "payload_hash": f"deleted:{annotation_id}"})
    return latest["example_id"]
