"""The verdict that counts for an example, and the example made to follow it.

Rules: a skip is no vote. An adjudication (the newest, when several) always wins. Otherwise nothing is decided
until the task has as many live reviews as its overlap; then agreeing reviews decide (same
verdict, and for edits texts at least ``min_similarity`` alike), and disagreeing ones make the
example ``disputed``: it waits in the adjudication project and stays in review. The example's
status and every reviewed turn are rewritten from the outcome each time, so an annotation
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


def task_turns(task: dict) -> list[dict]:
    """The turns a task showed in editable boxes: ``[{"message", "text"}]``; a task of the old
    one-box screen showed the last assistant message (``message`` None: found when applied)."""
    turns = task.get("turns")
    if turns:
        return orjson.loads(turns) if isinstance(turns, str) else turns
    return [{"message": None, "text": task["draft"]}]


def review_texts(review: dict, n: int) -> list[str | None]:
    """The reviewer's text for each of ``n`` boxes (None: the box was not sent: unchanged)."""
    texts = review.get("edited_turns")
    if texts:
        texts = orjson.loads(texts) if isinstance(texts, str) else list(texts)
        return (texts + [None] * n)[:n]
    return [None] * (n - 1) + [review.get("edited_response")] if n else []


def _changed(texts: list[str | None], drafts: list[str]) -> bool:
    return any(t is not None and t.strip() != d.strip() for t, d in zip(texts, drafts))


def effective(review: dict, drafts: list[str] | str) -> dict:
    """The one definition of what an answer did. A changed text is an edit whatever button was
    pressed: a reviewer who corrects a box and then clicks "accept" meant the corrected text
    (throwing the edit away silently was the bug); an "edit" that changed no box is an accept."""
    drafts = [drafts] if isinstance(drafts, str) else drafts
    changed = _changed(review_texts(review, len(drafts)), drafts)
    if review.get("verdict") == "accept" and changed:
        return dict(review, verdict="edit")
    if review.get("verdict") == "edit" and not changed:
        return dict(review, verdict="accept")
    return review


def outcome_of(review: dict, drafts: list[str]) -> str | None:
    """``reviews.outcome``: accept / edit / reject as :func:`effective` reads the answer, or
    skip; every verdict count in the store reads this, not the button pressed."""
    if review.get("skipped"):
        return "skip"
    return effective(review, drafts).get("verdict")


def decide(reviews: list[dict], drafts: list[str] | str, overlap: int, min_similarity: float) -> dict | None:
    """(verdict, source, final_response, final_turns, n_reviews) for one example, None while
    undecided. ``final_turns`` holds the text that counts for each reviewed turn."""
    drafts = [drafts] if isinstance(drafts, str) else drafts
    reviews = [effective(r, drafts) for r in reviews if not r.get("skipped")]
    adjudications = [r for r in reviews if r["project_role"] == "adjudication" and r["verdict"]]
    if adjudications:
        last = adjudications[-1]
        return _outcome(last["verdict"], "adjudication", _response(last, drafts), len(reviews))
    votes = [r for r in reviews if r["project_role"] == "review" and r["verdict"]]
    if len(votes) < max(overlap, 1):
        return None
    verdicts = {r["verdict"] for r in votes}
    texts = ["\n\n".join(_response(r, drafts) or []) for r in votes]
    agree = len(verdicts) == 1 and (
        votes[0]["verdict"] != "edit"
        or all(edit_similarity(texts[0], t) >= min_similarity for t in texts[1:]))
    if not agree:
        return _outcome("disputed", "agreement", None, len(votes))
    return _outcome(votes[0]["verdict"], "single" if len(votes) == 1 else "agreement",
                    _response(votes[0], drafts), len(votes))


def _outcome(verdict: str, source: str, turns: list[str] | None, n: int) -> dict:
    return {"verdict": verdict, "source": source, "final_response": turns[-1] if turns else None,
            "final_turns": turns, "n_reviews": n}


def _response(review: dict, drafts: list[str]) -> list[str] | None:
    if review["verdict"] == "reject":
        return None
    if review["verdict"] == "edit":
        return [t if t is not None else d for t, d in zip(review_texts(review, len(drafts)), drafts)]
    return list(drafts)


def _with_turns(messages: list[dict], turns: list[dict], texts: list[str]) -> list[dict]:
    """The messages with each reviewed turn's text in its own message; the others byte for byte."""
    out = list(messages)
    for turn, text in zip(turns, texts):
        i = turn["message"]
        if i is None:  # a task of the old screen: the last assistant message
            i = max(j for j, m in enumerate(out) if m.get("role") == "assistant")
        out[i] = dict(out[i], content=text)
    return out


def recompute(conn: duckdb.DuckDBPyConnection, example_ids: Iterable[int], min_similarity: float) -> dict:
    """Refresh outcomes and examples for these ids, in a few set-wise statements (call inside
    the recording transaction). An example whose text changed is scanned for personal data
    again, so its findings describe the stored text."""
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
        turns = task_turns(task)
        drafts = [t["text"] for t in turns]
        outcome = decide(reviews[example_id], drafts, task["overlap"], min_similarity)
        if outcome is None:
            changed["undecided"] += 1
            status, texts = "in_review", drafts
        else:
            outcomes.append({"example_id": example_id, **outcome,
                             "final_turns": None if outcome["final_turns"] is None
                             else orjson.dumps(outcome["final_turns"]).decode()})
            changed["disputed" if outcome["verdict"] == "disputed" else "decided"] += 1
            status, texts = STATUS[outcome["verdict"]], outcome["final_turns"] or drafts
        messages = orjson.loads(state[example_id]["messages"])
        new = _with_turns(messages, turns, texts)
        if status != state[example_id]["status"] or new != messages:
            findings = state[example_id]["pii_findings"]
            if new != messages and findings is not None:
                findings = _rescan(new)
            updates.append({"id": example_id, "status": status, "messages": orjson.dumps(new).decode(),
                            "pii_findings": findings})
    conn.execute(query("review.delete_outcomes"), {"ids": ids})
    _insert(conn, "review.insert_outcome_batch", "outcome_batch", outcomes, OUTCOMES)
    _insert(conn, "review.apply_example_batch", "example_batch", updates, UPDATES)
    return changed


def _rescan(messages: list[dict]) -> str:
    """The same scan push and synthesis run (curator/synth), over the text as it now stands."""
    from curator.synth.synthesize import output_findings

    return orjson.dumps(output_findings(messages)).decode()


OUTCOMES = pa.schema([("example_id", pa.int64()), ("verdict", pa.string()), ("source", pa.string()),
                      ("final_response", pa.string()), ("final_turns", pa.string()), ("n_reviews", pa.int32())])
UPDATES = pa.schema([("id", pa.int64()), ("status", pa.string()), ("messages", pa.string()),
                     ("pii_findings", pa.string())])


def _insert(conn: duckdb.DuckDBPyConnection, name: str, table: str, batch: list[dict], schema: pa.Schema) -> None:
    """Run the named query ``name`` over ``batch`` registered as the Arrow table ``table``."""
    if not batch:
        return
    conn.register(table, pa.Table.from_pylist(batch, schema=schema))
    try:
        conn.execute(query(name))
    finally:
        conn.unregister(table)
