"""What a reviewer must have seen: the trained turns of an example, and the version gate that
refuses an example carrying a trained turn no reviewer saw in an editable box, or a trained turn
whose text is not the text review decided.

The trainer learns every assistant message (trainer/data.py masks by the chat template's
assistant markers), so every assistant message is a trained turn; the review screen shows each in
its own editable box (annotation/labeling.py) and the task records which message indices it
showed (``review_tasks.turns``). Tasks pushed before that record existed showed only the last
assistant message. The gate judges what review approved: an example with no review task was
approved by an auto-accept policy (curator/judge/auto_accept.py, measured against reviewers and
audited) or by hand in SQL, and is not a reviewer's approval to check."""

from __future__ import annotations

import duckdb
import orjson

from ..store import rows


def trained_turns(messages: list[dict]) -> list[int]:
    """Indices of the messages the trainer learns from, in order."""
    return [i for i, m in enumerate(messages) if m.get("role") == "assistant"]


def _json(value):
    return orjson.loads(value) if isinstance(value, str) else value


def _shown(task_turns, messages: list[dict]) -> list[int]:
    """The message indices the task put in editable boxes, in order."""
    if task_turns is None:  # pushed before review_tasks.turns: the last assistant message only
        return trained_turns(messages)[-1:]
    return [int(t["message"]) for t in _json(task_turns)]


def _problem(example_id: int, held: list[dict], task_turns, final_turns) -> str | None:
    shown = _shown(task_turns, held)
    missing = [i for i in trained_turns(held) if i not in shown]
    if missing:
        return (f"example {example_id}: trained turn(s) at message {', '.join(map(str, missing))} were never shown to a "
                "reviewer in an editable box (its task predates per-turn review): leave it out with "
                f"--where \"id <> {example_id}\"")
    if final_turns is not None:
        for i, text in zip(shown, _json(final_turns)):
            if held[i].get("content") != text:
                return (f"example {example_id}: the text of message {i} is not the text review decided for it "
                        "(changed after review)")
    return None


def unreviewed_turns(conn: duckdb.DuckDBPyConnection, example_ids: list[int],
                     messages: dict[int, list[dict]] | None = None) -> list[dict]:
    """One row per reviewed example in ``example_ids`` that the gate refuses:
    ``{"example_id", "reason"}``. ``messages`` (the texts as the version will hold them) defaults
    to the stored examples."""
    if not example_ids:
        return []
    found = []
    for row in rows(conn, "versions.review_coverage", {"ids": list(example_ids)}):
        if not row["has_task"] or row["auto_accepted"]:
            continue
        held = messages[row["id"]] if messages and row["id"] in messages else orjson.loads(row["messages"])
        reason = _problem(row["id"], held, row["task_turns"], row["final_turns"])
        if reason:
            found.append({"example_id": row["id"], "reason": reason})
    return found
