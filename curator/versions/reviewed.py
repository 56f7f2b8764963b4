"""What a reviewer must have seen: the trained turns of an example, and the version gate that
refuses an example carrying a trained turn no reviewer saw in an editable box.

The trainer learns every assistant message (trainer/data.py masks by the chat template's
assistant markers), so every assistant message is a trained turn; the review screen shows each in
its own editable box (annotation/labeling.py) and the task records which message indices it
showed (``review_tasks.turns``). Tasks pushed before that record existed showed only the last
assistant message. Examples approved by an auto-accept policy (curator/judge/auto_accept.py) were
approved by a measured policy, not a reviewer, and are the one exception, named in the report."""

from __future__ import annotations

import duckdb
import orjson

from ..store import rows


def trained_turns(messages: list[dict]) -> list[int]:
    """Indices of the messages the trainer learns from, in order."""
    return [i for i, m in enumerate(messages) if m.get("role") == "assistant"]


def _shown(task_turns, messages: list[dict]) -> set[int]:
    if task_turns is None:  # pushed before review_tasks.turns: the last assistant message only
        trained = trained_turns(messages)
        return {trained[-1]} if trained else set()
    turns = orjson.loads(task_turns) if isinstance(task_turns, str) else task_turns
    return {int(t["message"]) for t in turns}


def unreviewed_turns(conn: duckdb.DuckDBPyConnection, example_ids: list[int],
                     messages: dict[int, list[dict]] | None = None) -> list[dict]:
    """One row per example in ``example_ids`` with a trained turn no review task showed in an
    editable box: ``{"example_id", "turns": [message indices], "reason"}``. ``messages`` (the
    texts as the version will hold them) defaults to the stored examples."""
    if not example_ids:
        return []
    found = []
    for row in rows(conn, "versions.review_coverage", {"ids": list(example_ids)}):
        held = messages[row["id"]] if messages and row["id"] in messages else orjson.loads(row["messages"])
        if row["auto_accepted"]:
            continue
        if not row["has_task"]:
            found.append({"example_id": row["id"], "turns": trained_turns(held),
                          "reason": f"example {row['id']} was approved without a review task (no reviewer saw it)"})
            continue
        missing = [i for i in trained_turns(held) if i not in _shown(row["task_turns"], held)]
        if missing:
            found.append({"example_id": row["id"], "turns": missing,
                          "reason": f"example {row['id']}: trained turn(s) at message {', '.join(map(str, missing))} "
                                    "were never shown to a reviewer in an editable box (its task predates per-turn "
                                    f"review): leave it out with --filter \"id <> {row['id']}\""})
    return found
