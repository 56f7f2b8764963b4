"""The verdict that counts for an example, and the example made to follow it.

Rules: an adjudication (the newest, when several) always wins. Otherwise nothing is decided
until the task has as many live reviews as its overlap; then agreeing reviews decide (same
verdict, and for edits texts at least ``min_similarity`` alike), and disagreeing ones make the
example ``disputed``: it waits in the adjudication project and stays in review. The example's
status and last assistant message are rewritten from the outcome each time, so an annotation
updated or deleted later moves the example back as well as forward."""

from __future__ import annotations

from typing import Iterable

import duckdb
import orjson
from rapidfuzz.distance import Levenshtein

from curator.sqlfiles import query

from .db import fetch

STATUS = {"accept": "approved", "edit": "approved", "reject": "rejected", "disputed": "in_review"}


def edit_similarity(a: str, b: str) -> float:
    """Normalised Levenshtein similarity in [0, 1] (1: identical)."""
    return Levenshtein.normalized_similarity(a, b)


def decide(reviews: list[dict], draft: str, overlap: int, min_similarity: float) -> dict | None:
    """(verdict, source, final_response, n_reviews) for one example, None while undecided."""
    adjudications = [r for r in reviews if r["project_role"] == "adjudication" and r["verdict"]]
    if adjudications:
        last = adjudications[-1]
        return {"verdict": last["verdict"], "source": "adjudication", "n_reviews": len(reviews),
                "final_response": _response(last, draft)}
    votes = [r for r in reviews if r["project_role"] == "review" and r["verdict"]]
    if len(votes) < max(overlap, 1):
        return None
    verdicts = {r["verdict"] for r in votes}
    texts = [_response(r, draft) for r in votes]
    agree = len(verdicts) == 1 and (
        votes[0]["verdict"] != "edit"
        or all(edit_similarity(texts[0], t) >= min_similarity for t in texts[1:]))
    if not agree:
        return {"verdict": "disputed", "source": "agreement", "final_response": None, "n_reviews": len(votes)}
    return {"verdict": votes[0]["verdict"], "source": "single" if len(votes) == 1 else "agreement",
            "final_response": texts[0], "n_reviews": len(votes)}


def _response(review: dict, draft: str) -> str | None:
    if review["verdict"] == "reject":
        return None
    if review["verdict"] == "edit" and review["edited_response"] is not None:
        return review["edited_response"]
    return draft


def _with_response(messages: list[dict], text: str) -> list[dict]:
    last = max(i for i, m in enumerate(messages) if m.get("role") == "assistant")
    return [dict(m, content=text) if i == last else m for i, m in enumerate(messages)]


def recompute(conn: duckdb.DuckDBPyConnection, example_ids: Iterable[int], min_similarity: float) -> dict:
    """Refresh outcomes and examples for these ids (call inside the recording transaction)."""
    changed = {"decided": 0, "disputed": 0, "undecided": 0}
    for example_id in sorted(set(example_ids)):
        task = fetch(conn, "review.review_task_of_example", {"example_id": example_id})
        if not task:
            continue
        draft, overlap = task[0]["draft"], task[0]["overlap"]
        reviews = fetch(conn, "review.current_for_example", {"example_id": example_id})
        outcome = decide(reviews, draft, overlap, min_similarity)
        conn.execute(query("review.delete_outcome"), {"example_id": example_id})
        current = fetch(conn, "review.example_messages", {"id": example_id})[0]
        messages = orjson.loads(current["messages"])
        if outcome is None:
            changed["undecided"] += 1
            status, text = "in_review", draft
        else:
            conn.execute(query("review.insert_outcome"), {"example_id": example_id, **outcome})
            changed["disputed" if outcome["verdict"] == "disputed" else "decided"] += 1
            status, text = STATUS[outcome["verdict"]], outcome["final_response"] or draft
        new_messages = orjson.dumps(_with_response(messages, text)).decode()
        if status != current["status"] or orjson.loads(new_messages) != messages:
            conn.execute(query("review.set_example"), {"id": example_id, "status": status, "messages": new_messages})
    return changed
