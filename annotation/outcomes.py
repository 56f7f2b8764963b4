"""The verdict that counts for an example, and the example made to follow it.

Rules: an adjudication (the newest, when several) always wins. Otherwise nothing is decided
until the task has as many live reviews as its overlap; then agreeing reviews decide (same
verdict, and for edits texts at least ``min_similarity`` alike), and disagreeing ones make the
example ``disputed``: it waits in the adjudication project and stays in review. The example's
status and last assistant message are rewritten from the outcome each time, so an annotation
updated or deleted later moves the example back as well as forward."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import duckdb
import orjson
import pyarrow as pa
from rapidfuzz.distance import Levenshtein

from curator.sqlfiles import query

from .db import fetch

STATUS = {"accept": "approved", "edit": "approved", "reject": "rejected", "disputed": "in_review"}


def edit_similarity(a: str, b: str) -> float:
    """Normalised Levenshtein similarity in [0, 1] (1: identical)."""
    return Levenshtein.normalized_similarity(a, b)


def effective(review: dict, draft: str) -> dict:
    """A changed text is an edit whatever button was pressed: a reviewer who corrects the box and
    then clicks "accept" meant the corrected text (throwing the edit away silently was the bug);
    an "edit" whose text equals the draft is an accept."""
    text = review.get("edited_response")
    if review.get("verdict") == "accept" and text is not None and text.strip() != draft.strip():
        return dict(review, verdict="edit")
    if review.get("verdict") == "edit" and (text is None or text.strip() == draft.strip()):
        return dict(review, verdict="accept")
    return review


def decide(reviews: list[dict], draft: str, overlap: int, min_similarity: float) -> dict | None:
    """(verdict, source, final_response, n_reviews) for one example, None while undecided."""
    reviews = [effective(r, draft) for r in reviews]
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
    """Refresh outcomes and examples for these ids, in a few set-wise statements (call inside
    the recording transaction)."""
    ids = sorted(set(example_ids))
    changed = {"decided": 0, "disputed": 0, "undecided": 0}
    if not ids:
        return changed
    tasks = {t["example_id"]: t for t in fetch(conn, "review.review_tasks_of_examples", {"example_ids": ids})}
    reviews: dict[int, list[dict]] = defaultdict(list)
    for r in fetch(conn, "review.current_for_examples", {"example_ids": ids}):
        reviews[r["example_id"]].append(r)
    state = {e["id"]: e for e in fetch(conn, "review.examples_state", {"example_ids": ids})}
    outcomes, updates = [], []
    for example_id in ids:
        task = tasks.get(example_id)
        if task is None or example_id not in state:
            continue
        outcome = decide(reviews[example_id], task["draft"], task["overlap"], min_similarity)
        if outcome is None:
            changed["undecided"] += 1
            status, text = "in_review", task["draft"]
        else:
            outcomes.append({"example_id": example_id, **outcome})
            changed["disputed" if outcome["verdict"] == "disputed" else "decided"] += 1
            status, text = STATUS[outcome["verdict"]], outcome["final_response"] or task["draft"]
        messages = orjson.loads(state[example_id]["messages"])
        new = _with_response(messages, text)
        if status != state[example_id]["status"] or new != messages:
            updates.append({"id": example_id, "status": status, "messages": orjson.dumps(new).decode()})
    conn.execute(query("review.delete_outcomes"), {"ids": ids})
    _insert(conn, "review.insert_outcome_batch", "outcome_batch", outcomes, OUTCOMES)
    _insert(conn, "review.apply_example_batch", "example_batch", updates, UPDATES)
    return changed


OUTCOMES = pa.schema([("example_id", pa.int64()), ("verdict", pa.string()), ("source", pa.string()),
                      ("final_response", pa.string()), ("n_reviews", pa.int32())])
UPDATES = pa.schema([("id", pa.int64()), ("status", pa.string()), ("messages", pa.string())])


def _insert(conn: duckdb.DuckDBPyConnection, name: str, table: str, batch: list[dict], schema: pa.Schema) -> None:
    """Run the named query ``name`` over ``batch`` registered as the Arrow table ``table``."""
    if not batch:
        return
    conn.register(table, pa.Table.from_pylist(batch, schema=schema))
    try:
        conn.execute(query(name))
    finally:
        conn.unregister(table)
