"""``curator review push``: candidates that passed dedup become Label Studio tasks, in bulk.

Each batch is one import call (the draft in the task data) followed by one store
transaction (task rows, status ``in_review``, audit). A task carries its example id, and before
pushing we adopt any task of the project we have no row for (an earlier push that died between
the import and the commit), so a re-push never makes a second task for an example."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb
import orjson
import pyarrow as pa

from curator.audit import record_audit
from curator.errors import InputError
from curator.quality.run import flags_of
from curator.sqlfiles import query
from curator.store import transaction

from .client import LabelStudio, LabelStudioAPIError
from .db import fetch
from .labeling import (UPDATE_HINT, judge_note, meta_html, notes_html, pii_html, pii_note, quality_note, reviews_html, screen,
                       source_html, speakers_of)
from .selection import Selection, select_candidates
from .setup import project_ids


@dataclass
class PushReport:
    project: int
    overlap: int
    pushed: int = 0
    adopted: int = 0
    skipped: list[dict] = field(default_factory=list)
    batches: int = 0
    pii_scanned: int = 0
    flagged_left_out: int = 0
    flagged_pushed: int = 0
    why: dict = field(default_factory=lambda: {"order": "id"})

    def summary(self) -> dict:
        return {"ls_project_id": self.project, "overlap": self.overlap, "pushed": self.pushed,
                "adopted": self.adopted, "skipped": self.skipped, "batches": self.batches,
                "pii_scanned": self.pii_scanned, "flagged_left_out": self.flagged_left_out,
                "flagged_pushed": self.flagged_pushed, "why": self.why}


def task_for(row: dict, extra: dict | None = None) -> tuple[dict, list[dict]]:
    """(Label Studio task, the turns it shows in editable boxes) for one example row. Each
    trained turn's text fills its box through the task's ``turns`` data (no prediction: Label
    Studio would show it as a read-only "draft 0.00%" annotation tab). The source block is left
    out when the prompt already holds the whole document (a note written from a transcript)."""
    messages = orjson.loads(row["messages"])
    turns = orjson.loads(row["document_turns"]) if row.get("document_turns") else None
    document = row.get("document_text")
    in_prompt = bool(document) and any(document in str(m.get("content")) for m in messages)
    # Speakers' own labels only where the messages are the transcript's turns (not a note's prompt).
    speakers = speakers_of(turns) if row.get("kind") == "extracted" and not in_prompt else None
    prompt_html, items = screen(messages, speakers)
    drafts = [item["draft"] for item in items]
    pii = orjson.loads(row["pii_findings"]) if row.get("pii_findings") is not None else None
    data = {"example_id": row["id"], "kind": row.get("kind"), "origin": row["origin"], "source": row["source"],
            "meta_html": meta_html(row.get("kind") or "example", row["source"], row["id"], row.get("document_kind")),
            "source_html": "" if in_prompt else source_html(document, row.get("span_start"), row.get("span_end"),
                                                            drafts, turns),
            "prompt_html": prompt_html, "turns": items, "draft": drafts[-1], "update_hint_html": UPDATE_HINT,
            "pii": pii_note(pii, messages), "quality": quality_note(row.get("quality_flags")),
            "judge": judge_note(row.get("judgement")), **(extra or {})}
    data["pii_html"] = pii_html(data["pii"])
    data["notes_html"] = notes_html(data["quality"], data["judge"])
    return {"data": data}, [{"message": item["message"], "text": item["draft"]} for item in items]


def scan_pii(conn: duckdb.DuckDBPyConnection, rows: list[dict], scan: Callable[[list[dict]], list[dict]]) -> int:
    """Examples never scanned (imported, extracted) get the same PII scan synthesis runs, stored
    on the example, so the reviewer reads findings or "none found" only after a real scan."""
    scanned = 0
    with transaction(conn):
        for row in rows:
            if row.get("pii_findings") is None:
                findings = orjson.dumps(scan(orjson.loads(row["messages"]))).decode()
                conn.execute(query("review.set_pii_findings"), {"id": row["id"], "findings": findings})
                row["pii_findings"] = findings
                scanned += 1
    return scanned


TASKS = pa.schema([("example_id", pa.int64()), ("ls_project_id", pa.int64()), ("ls_task_id", pa.int64()),
                   ("draft", pa.string()), ("turns", pa.string()), ("overlap", pa.int32())])


def record_tasks(conn: duckdb.DuckDBPyConnection, project: int, overlap: int,
                 items: list[tuple[int, int, list[dict] | None, str]], mark_in_review: bool = True) -> None:
    """(example id, task id, turns shown, last draft) rows into review_tasks in one statement;
    examples that were candidates become in_review. ``turns`` None: a task of the old screen."""
    batch = pa.Table.from_pylist([{"example_id": e, "ls_project_id": project, "ls_task_id": t, "draft": d,
                                   "turns": None if turns is None else orjson.dumps(turns).decode(),
                                   "overlap": overlap} for e, t, turns, d in items], schema=TASKS)
    conn.register("new_tasks", batch)
    try:
        conn.execute(query("review.insert_task_batch"))
        if mark_in_review:
            conn.execute(query("review.mark_batch_in_review"))
    finally:
        conn.unregister("new_tasks")


def adopt_orphans(conn: duckdb.DuckDBPyConnection, client: LabelStudio, project: int, overlap: int,
                  actor: str) -> int:
    """Record tasks that exist in Label Studio but not in review_tasks (a crash after an import)."""
    have = {r["ls_task_id"] for r in fetch(conn, "review.task_ids", {"project": project})}
    remote = client.get_project(project).get("task_number")
    if remote is not None and remote <= len(have):
        return 0
    orphans = [(t["data"]["example_id"], t["id"], _shown(t["data"]), t["data"].get("draft", ""))
               for t in client.iter_tasks(project) if t["id"] not in have and "example_id" in t.get("data", {})]
    if orphans:
        with transaction(conn):
            record_tasks(conn, project, overlap, orphans)
            record_audit(conn, actor, "review.adopt", f"label-studio:{project}", {"tasks": len(orphans)})
    return len(orphans)


def _shown(data: dict) -> list[dict] | None:
    """The turns a task's data put in editable boxes (None: a task of the old one-box screen)."""
    items = data.get("turns")
    if not isinstance(items, list):
        return None
    return [{"message": int(i["message"]), "text": i.get("draft", "")} for i in items]


def import_batch(client: LabelStudio, project: int, tasks: list[dict]) -> list[int]:
    body = client.import_tasks(project, tasks)
    ids = body.get("task_ids") if isinstance(body, dict) else None
    if not ids or len(ids) != len(tasks):
        raise LabelStudioAPIError(f"Label Studio imported {body.get('task_count')} tasks into project {project} "
                                  f"but returned {len(ids or [])} task ids for {len(tasks)}; run push again "
                                  "(tasks already there are adopted, not duplicated)")
    return ids


def push(conn: duckdb.DuckDBPyConnection, client: LabelStudio, actor: str, selection: Selection = Selection(),
         overlap: int | None = None, batch_size: int = 1000, progress: Callable[[int, int], None] | None = None,
         pii_scan: Callable[[list[dict]], list[dict]] | None = None) -> PushReport:
    """Push the candidates ``selection`` picks (annotation/selection.py) as tasks; ``overlap``
    None keeps the project's current overlap. Examples the quality filters flagged stay out
    unless ``selection.include_flagged`` (then the reviewer sees the flags); ``pii_scan`` scans
    examples that never were."""
    project = project_ids(conn)["review"]
    report = PushReport(project=project, overlap=set_overlap(conn, client, project, overlap))
    report.adopted = adopt_orphans(conn, client, project, report.overlap, actor)
    candidates, report.why = select_candidates(conn, project, selection)
    attach_notes(conn, project, candidates, selection.include_flagged, report)
    if pii_scan is not None:
        report.pii_scanned = scan_pii(conn, candidates, pii_scan)
    total = len(candidates)
    for start in range(0, total, batch_size):
        send_batch(conn, client, actor, candidates[start:start + batch_size], report)
        if progress:
            progress(min(start + batch_size, total), total)
    return report


def set_overlap(conn: duckdb.DuckDBPyConnection, client: LabelStudio, project: int, overlap: int | None) -> int:
    """The overlap this push uses (None: the project's current one), set in Label Studio and the
    store when it changes."""
    current = {r["ls_project_id"]: r for r in fetch(conn, "review.projects")}[project]["overlap"]
    if overlap is None or overlap == current:
        return current
    if overlap < 1:
        raise InputError(f"--overlap must be at least 1, got {overlap}")
    client.update_project(project, maximum_annotations=overlap, overlap_cohort_percentage=100)
    with transaction(conn):
        conn.execute(query("review.set_overlap"), {"ls_project_id": project, "overlap": overlap})
    return overlap


def attach_notes(conn: duckdb.DuckDBPyConnection, project: int, candidates: list[dict], include_flagged: bool,
                 report: PushReport) -> None:
    """Quality flags and the judge's latest verdict onto each candidate row (the reviewer sees
    them); the report counts flagged examples left out and pushed."""
    report.flagged_left_out = 0 if include_flagged else fetch(conn, "quality.flagged_candidates",
                                                              {"project": project})[0]["n"]
    flags = flags_of(conn, [r["id"] for r in candidates]) if include_flagged else {}
    judged = {j["example_id"]: j for j in fetch(conn, "judge.latest_of", {"ids": [r["id"] for r in candidates]})}
    for row in candidates:
        row["quality_flags"] = flags.get(row["id"])
        row["judgement"] = judged.get(row["id"])
    report.flagged_pushed = sum(1 for r in candidates if r["quality_flags"])


def send_batch(conn: duckdb.DuckDBPyConnection, client: LabelStudio, actor: str, rows: list[dict],
               report: PushReport) -> None:
    """One import call, then one store transaction (task rows, in_review, audit)."""
    batch, shown = [], []
    for row in rows:
        try:
            task, turns = task_for(row)
        except (InputError, orjson.JSONDecodeError) as exc:
            report.skipped.append({"example_id": row["id"], "reason": str(exc)})
            continue
        batch.append(task)
        shown.append((row["id"], turns))
    if not batch:
        return
    ids = import_batch(client, report.project, batch)
    with transaction(conn):
        record_tasks(conn, report.project, report.overlap,
                     [(e, t, turns, turns[-1]["text"]) for (e, turns), t in zip(shown, ids)])
        record_audit(conn, actor, "review.push", f"label-studio:{report.project}",
                     {"tasks": len(ids), "first_example": shown[0][0], "last_example": shown[-1][0],
                      "overlap": report.overlap})
    report.pushed += len(ids)
    report.batches += 1


def push_adjudication(conn: duckdb.DuckDBPyConnection, client: LabelStudio, actor: str) -> int:
    """Disputed examples without an adjudication task get one, showing every reviewer's answer;
    the boxes hold the texts under review (a disputed example keeps its drafts)."""
    projects = project_ids(conn)
    project = projects.get("adjudication")
    disputed = [r["example_id"] for r in fetch(conn, "review.disputed_without_adjudication")]
    if project is None or not disputed:
        return 0
    batch, shown = [], []
    for example_id in disputed:
        row = fetch(conn, "review.example_for_task", {"example_id": example_id})[0]
        reviews = [r for r in fetch(conn, "review.current_for_example", {"example_id": example_id})
                   if r["project_role"] == "review"]
        task, turns = task_for(row)
        for r in reviews:
            r["reasons"] = orjson.loads(r["reasons"]) if isinstance(r["reasons"], str) else r["reasons"]
            texts = (orjson.loads(r["edited_turns"]) if r.get("edited_turns")
                     else [None] * (len(turns) - 1) + [r["edited_response"]])
            r["changed_turns"] = [(n, text) for n, (text, turn) in enumerate(zip(texts, turns), 1)
                                  if text is not None and text != turn["text"]]
        task["data"]["reviews_html"] = reviews_html(reviews)
        batch.append(task)
        shown.append((example_id, turns))
    ids = import_batch(client, project, batch)
    with transaction(conn):
        record_tasks(conn, project, 1, [(e, t, turns, turns[-1]["text"]) for (e, turns), t in zip(shown, ids)],
                     mark_in_review=False)
        record_audit(conn, actor, "review.adjudication_push", f"label-studio:{project}",
                     {"tasks": len(ids), "examples": [e for e, _ in shown][:100]})
    return len(ids)
