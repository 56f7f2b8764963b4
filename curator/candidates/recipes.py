"""Recipes: one transcript's turns in, candidate examples (OpenAI chat ``messages``) out.

Pure functions, no store: each recipe takes a :class:`Transcript` and yields either a
:class:`Candidate` or a :class:`Skip` with its reason, so nothing is dropped silently.
Tokens are approximated as ``ceil(chars / 4)``; a real tokenizer comes with dataset versions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

RECIPES = ("conversation", "note", "turns")
# The most trained (assistant) turns one conversation example holds: each is a box a reviewer
# must read and may correct on one screen (annotation/labeling.py), and past a handful an approval
# stops meaning that every turn was read. Longer conversations become consecutive windows.
MAX_TURNS = 6
DEFAULT_INSTRUCTION = "Write the {section} section of the clinical note for this visit."
GENERIC_INSTRUCTION = "Write the clinical note for this visit."
TARGET_FIELDS = ("section_text", "note")
# MTS-Dialog section codes, spelled out where the code is not plain English.
SECTION_NAMES = {
    "GENHX": "history of present illness", "CC": "chief complaint", "PASTMEDICALHX": "past medical history",
    "PASTSURGICAL": "past surgical history", "FAM/SOCHX": "family and social history", "ROS": "review of systems",
    "GYNHX": "gynecologic history", "EDCOURSE": "emergency department course", "OTHER_HISTORY": "other history",
    "ALLERGY": "allergies", "MEDICATIONS": "medications", "IMMUNIZATIONS": "immunizations",
}


def approx_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass(slots=True)
class Turn:
    """One turn of a transcript after role mapping; ``start``/``end`` are offsets in the text."""

    speaker: str | None
    role: str
    text: str
    start: int | None = None
    end: int | None = None


@dataclass(slots=True)
class Transcript:
    document_id: int
    source_id: int
    file_id: int | None
    origin: str
    text: str
    turns: list[Turn]          # turns with a user/assistant role, in document order
    metadata: dict


@dataclass(slots=True)
class Candidate:
    messages: list[dict]
    metadata: dict
    span_start: int | None = None
    span_end: int | None = None


@dataclass(slots=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class RecipeOptions:
    max_tokens: int = 4096
    max_turns: int = MAX_TURNS           # conversation: assistant turns per example (windows beyond)
    target_field: str | None = None        # None: the first of TARGET_FIELDS present
    section_field: str = "section_header"
    instruction: str = DEFAULT_INSTRUCTION


def merge_turns(turns: list[Turn]) -> list[Turn]:
    """Consecutive turns of one role become one (texts joined by a newline, span widened)."""
    merged: list[Turn] = []
    for turn in turns:
        if not turn.text.strip():
            continue
        if merged and merged[-1].role == turn.role:
            last = merged[-1]
            last.text = f"{last.text}\n{turn.text}"
            last.end = turn.end if turn.end is not None else last.end
        else:
            merged.append(Turn(turn.speaker, turn.role, turn.text, turn.start, turn.end))
    return merged


def _exchanges(merged: list[Turn]) -> tuple[list[tuple[Turn, Turn]], int]:
    """(user, assistant) pairs in order; merged turns alternate roles. Also the count of turns
    left out: assistant turns before the first user turn and a last user turn with no reply."""
    pairs = [(merged[i - 1], merged[i]) for i in range(1, len(merged))
             if merged[i].role == "assistant" and merged[i - 1].role == "user"]
    return pairs, len(merged) - 2 * len(pairs)


def _span(turns: list[Turn]) -> tuple[int | None, int | None]:
    starts = [t.start for t in turns if t.start is not None]
    ends = [t.end for t in turns if t.end is not None]
    return (min(starts) if starts else None, max(ends) if ends else None)


def _message(turn: Turn) -> dict:
    return {"role": turn.role, "content": turn.text}


def _pack(pairs: list[tuple[Turn, Turn]], budget: int, max_pairs: int) -> list[list[tuple[Turn, Turn]]]:
    """Greedy split at exchange boundaries: each part starts with a user turn, ends with an
    assistant turn, holds at most ``max_pairs`` exchanges and stays within ``budget`` tokens
    unless one exchange alone exceeds it."""
    parts: list[list[tuple[Turn, Turn]]] = []
    used = 0
    for pair in pairs:
        cost = approx_tokens(pair[0].text) + approx_tokens(pair[1].text)
        if parts and used + cost <= budget and len(parts[-1]) < max_pairs:
            parts[-1].append(pair)
            used += cost
        else:
            parts.append([pair])
            used = cost
    return parts


def conversation(doc: Transcript, opts: RecipeOptions) -> Iterator[Candidate | Skip]:
    """The whole transcript as one multi-turn example, split into consecutive windows where it
    exceeds the token budget or ``max_turns`` assistant turns."""
    pairs, left_out = _exchanges(merge_turns(doc.turns))
    if not pairs:
        yield Skip("no_user_assistant_exchange")
        return
    parts = _pack(pairs, opts.max_tokens, opts.max_turns)
    for i, part in enumerate(parts, 1):
        turns = [t for pair in part for t in pair]
        tokens = sum(approx_tokens(t.text) for t in turns)
        start, end = _span(turns)
        meta = {"recipe": "conversation", "part": i, "parts": len(parts), "approx_tokens": tokens,
                "turns_left_out": left_out}
        if tokens > opts.max_tokens:
            meta["over_budget"] = True
        yield Candidate([_message(t) for t in turns], meta, start, end)


def _target(doc: Transcript, opts: RecipeOptions) -> tuple[str | None, str]:
    names = (opts.target_field,) if opts.target_field else TARGET_FIELDS
    for name in names:
        value = doc.metadata.get(name)
        if isinstance(value, str) and value.strip():
            return name, value.strip()
    return None, ""


def note_instruction(section: str | None, template: str) -> str:
    if not section:
        return GENERIC_INSTRUCTION if "{section}" in template else template
    return template.replace("{section}", SECTION_NAMES.get(section.strip().upper(), section.strip()))


def note(doc: Transcript, opts: RecipeOptions) -> Iterator[Candidate | Skip]:
    """Instruction from the template, the dialogue as input, the paired target text as the reply."""
    field_name, target = _target(doc, opts)
    if not target:
        yield Skip("no_target")
        return
    section = doc.metadata.get(opts.section_field)
    section = str(section) if section not in (None, "") else None
    instruction = note_instruction(section, opts.instruction)
    meta = {"recipe": "note", "part": 1, "target_field": field_name, "section": section,
            "approx_tokens": approx_tokens(doc.text) + approx_tokens(target)}
    messages = [{"role": "user", "content": f"{instruction}\n\n{doc.text}"},
                {"role": "assistant", "content": target}]
    yield Candidate(messages, meta, 0, len(doc.text))


def _label(turn: Turn) -> str:
    return f"{turn.speaker or turn.role}: {turn.text}"


def turn_pairs(doc: Transcript, opts: RecipeOptions) -> Iterator[Candidate | Skip]:
    """Each (user turn, following assistant turn) as a single-turn example; the prior turns,
    as many of the latest as fit the budget, go in a system message as context."""
    merged = merge_turns(doc.turns)
    pairs, _ = _exchanges(merged)
    if not pairs:
        yield Skip("no_user_assistant_exchange")
        return
    index = {id(t): i for i, t in enumerate(merged)}
    for n, (user, reply) in enumerate(pairs, 1):
        room = opts.max_tokens - approx_tokens(user.text) - approx_tokens(reply.text)
        context: list[Turn] = []
        for prior in reversed(merged[:index[id(user)]]):
            room -= approx_tokens(prior.text)
            if room < 0:
                break
            context.insert(0, prior)
        messages = []
        if context:
            messages.append({"role": "system",
                             "content": "Conversation so far:\n" + "\n".join(_label(t) for t in context)})
        messages += [_message(user), _message(reply)]
        start, end = _span([*context, user, reply])
        meta = {"recipe": "turns", "part": n, "parts": len(pairs), "context_turns": len(context),
                "context_turns_dropped": index[id(user)] - len(context)}
        yield Candidate(messages, meta, start, end)


RECIPE_FUNCTIONS = {"conversation": conversation, "note": note, "turns": turn_pairs}
