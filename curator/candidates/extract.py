"""``curator candidates extract``: run one recipe over the stored transcripts, in one transaction.

Every candidate is an ``extracted`` example with status ``candidate``, its source document,
the character span of the turns it used and ``{"recipe", "part", ...}`` metadata. Its
``content_hash`` is the SHA-256 of the canonical messages JSON (as at ingest), so a re-run,
or a candidate equal to an imported example, inserts nothing new; such candidates count as
``duplicate`` in ``skipped``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import duckdb
import orjson
import pyarrow as pa

from ..audit import record_audit
from ..errors import InputError
from ..ingest.transcript import speaker_role
from ..normalize import sha256_text
from ..store import rows, transaction
from ..sqlfiles import query
from .recipes import RECIPE_FUNCTIONS, RECIPES, Candidate, RecipeOptions, Transcript, Turn

ROLES = ("user", "assistant")


@dataclass
class ExtractReport:
    recipe: str
    documents: int = 0
    examples_added: int = 0
    skipped: Counter = field(default_factory=Counter)
    turns_without_role: int = 0

    def summary(self) -> dict:
        return {"recipe": self.recipe, "documents": self.documents, "examples_added": self.examples_added,
                "skipped": dict(sorted(self.skipped.items())), "turns_without_role": self.turns_without_role}


def _offsets(text: str, turns: list[dict]) -> list[tuple[int | None, int | None]]:
    """Where each turn's text lies in the document, found in order (None when not found)."""
    found, cursor = [], 0
    for turn in turns:
        lines = [line for line in turn["text"].split("\n") if line]
        start = text.find(lines[0], cursor) if lines else -1
        if start < 0:
            found.append((None, None))
            continue
        end = start + len(lines[0])
        for line in lines[1:]:
            at = text.find(line, end)
            if at >= 0:
                end = at + len(line)
        found.append((start, end))
        cursor = end
    return found


def load_transcript(row: dict, roles: dict[str, str], report: ExtractReport) -> Transcript:
    """Turns get their role from the speaker→role map (``--speaker`` overrides first), else the
    role stored at ingest; turns with no user/assistant role are left out and counted."""
    raw = orjson.loads(row["turns"])
    turns = []
    for t, (start, end) in zip(raw, _offsets(row["text"], raw)):
        role = (speaker_role(t["speaker"], roles) if t.get("speaker") else None) or t.get("role")
        if role not in ROLES:
            report.turns_without_role += 1
            continue
        turns.append(Turn(t.get("speaker"), role, t["text"], start, end))
    return Transcript(row["id"], row["source_id"], row["file_id"], row["origin"], row["text"], turns,
                      orjson.loads(row["metadata"]))


def check(candidate: Candidate) -> str | None:
    """The reason a candidate cannot be an example, or None."""
    messages = candidate.messages
    if any(not (m.get("content") or "").strip() for m in messages):
        return "empty_message"
    if not any(m["role"] == "user" for m in messages):
        return "no_user_turn"
    if not messages or messages[-1]["role"] != "assistant":
        return "no_assistant_reply"
    return None


def _staged(items: list[tuple[Transcript, Candidate]]) -> pa.Table:
    cols: dict[str, list] = {k: [] for k in ("pos", "source_id", "file_id", "origin", "messages", "content_hash",
                                              "document_id", "span_start", "span_end", "metadata")}
    for pos, (doc, cand) in enumerate(items):
        canonical = orjson.dumps(cand.messages, option=orjson.OPT_SORT_KEYS).decode()
        cols["pos"].append(pos)
        cols["source_id"].append(doc.source_id)
        cols["file_id"].append(doc.file_id)
        cols["origin"].append(f"{doc.origin}#{cand.metadata['recipe']}:{cand.metadata['part']}")
        cols["messages"].append(canonical)
        cols["content_hash"].append(sha256_text(canonical))
        cols["document_id"].append(doc.document_id)
        cols["span_start"].append(cand.span_start)
        cols["span_end"].append(cand.span_end)
        cols["metadata"].append(orjson.dumps(cand.metadata).decode())
    types = {"pos": pa.int64(), "source_id": pa.int64(), "file_id": pa.int64(), "document_id": pa.int64(),
             "span_start": pa.int32(), "span_end": pa.int32()}
    return pa.table({k: pa.array(v, type=types.get(k, pa.string())) for k, v in cols.items()})


def extract_candidates(conn: duckdb.DuckDBPyConnection, recipe: str, *, actor: str,
                       speaker_roles: dict[str, str], opts: RecipeOptions | None = None,
                       limit: int | None = None) -> ExtractReport:
    """Run ``recipe`` over the first ``limit`` transcripts (all by default) and store the candidates."""
    if recipe not in RECIPES:
        raise InputError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    opts = opts or RecipeOptions()
    if opts.max_tokens < 1:
        raise InputError("--max-tokens must be at least 1")
    if limit is not None and limit < 0:
        raise InputError("--limit must be 0 or more")
    report = ExtractReport(recipe)
    make = RECIPE_FUNCTIONS[recipe]
    items: list[tuple[Transcript, Candidate]] = []
    for row in rows(conn, "candidates.transcripts", {"limit": 2**62 if limit is None else limit}):
        report.documents += 1
        doc = load_transcript(row, speaker_roles, report)
        for result in make(doc, opts):
            reason = result.reason if not isinstance(result, Candidate) else check(result)
            if reason:
                report.skipped[reason] += 1
            else:
                items.append((doc, result))
    with transaction(conn):
        if items:
            conn.register("staged_candidates", _staged(items))
            try:
                conn.execute(query("candidates.insert_staged"), {"recipe": recipe})
                report.examples_added = conn.fetchone()[0]
            finally:
                conn.unregister("staged_candidates")
        if len(items) > report.examples_added:
            report.skipped["duplicate"] += len(items) - report.examples_added
        record_audit(conn, actor, "candidates.extract", recipe,
                     report.summary() | {"options": {"max_tokens": opts.max_tokens, "max_turns": opts.max_turns, "target_field": opts.target_field,
                                                     "section_field": opts.section_field,
                                                     "instruction": opts.instruction, "limit": limit}})
    return report
