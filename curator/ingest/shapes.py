"""Turn one keyed record (a JSON object or a CSV row) into a document or an example.

The record's shape is found from its keys: ``messages`` → chat example; ``instruction`` +
``output``/``response`` → Alpaca example; ``prompt`` + ``completion``; a dialogue column →
transcript document; a text column → document. ``--format`` forces one shape, explicit
field options override the names tried.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from ..normalize import normalize_text, sha256_text
from .chat import validate_messages
from .options import AUTO_FIELDS, IngestOptions
from .records import Document, Example, RecordError
from .transcript import looks_like_transcript, parse_turns

SHAPES = {
    "chat": ("messages",),
    "alpaca": ("instruction", "response"),
    "prompt_completion": ("prompt", "completion"),
    "transcript": ("dialogue",),
    "text": ("text",),
}
_FORCED = {"chat": "chat", "alpaca": "alpaca", "prompt_completion": "prompt_completion",
           "transcript": "transcript", "text": "text"}


@lru_cache(maxsize=256)
def resolve_fields(keys: tuple[str, ...], explicit: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Map each field role to the record's actual key (case-insensitive), explicit names first."""
    lower = {k.lower(): k for k in keys}
    found = {}
    explicit_map = dict(explicit)
    for role, names in AUTO_FIELDS.items():
        candidates = (explicit_map[role],) if role in explicit_map else names
        for name in candidates:
            if name.lower() in lower:
                found[role] = lower[name.lower()]
                break
    return found


def detect_shape(fields: dict[str, str], forced: str) -> str | None:
    if forced in _FORCED:
        return _FORCED[forced]
    for shape, needed in SHAPES.items():
        if all(role in fields for role in needed):
            return shape
    return None


def _text(record: dict, key: str, required: bool = True) -> str:
    value = record.get(key)
    if value is None or value == "":
        if required:
            raise RecordError("empty_record", f"field {key!r} is empty")
        return ""
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise RecordError("wrong_type", f"field {key!r} must be text, got {type(value).__name__}")
    text = normalize_text(value)
    if required and not text:
        raise RecordError("empty_record", f"field {key!r} is blank")
    return text


def _wanted(role: str, opts: IngestOptions) -> str:
    """The names a role was looked up by, as the user can act on them."""
    names = (opts.fields[role],) if role in opts.fields else AUTO_FIELDS[role]
    return " or ".join(repr(n) for n in names)


def _unmatched(record: dict, opts: IngestOptions) -> str:
    """Say which ``--field`` mappings name no key of the record: the usual cause of a miss."""
    keys = {k.lower() for k in record}
    missing = [f"{role}={name}" for role, name in sorted(opts.fields.items()) if name.lower() not in keys]
    return f" (--field {', '.join(missing)} names no key of this record)" if missing else ""


def _title(record: dict, key: str | None) -> str | None:
    """The title column is text like any other: normalised, and absent when blank."""
    value = record.get(key) if key else None
    if value is None or value == "":
        return None
    return normalize_text(str(value)) or None


def _metadata(record: dict, used: set[str]) -> str:
    """Scalar fields not used for content; nested values are named, not copied."""
    meta: dict[str, Any] = {}
    omitted = []
    for key, value in record.items():
        if key in used or value is None or value == "":
            continue
        if isinstance(value, str):
            meta[key] = normalize_text(value)
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            meta[key] = float(value)  # beyond 64 bits, as orjson reads it from JSONL
        elif isinstance(value, (int, float, bool)):
            meta[key] = value
        else:
            omitted.append(key)
    if omitted:
        meta["_omitted_fields"] = omitted
    return _dumps(meta)


def _dumps(value: Any, option: int = 0) -> str:
    """JSON for the store; a value JSON cannot hold portably is this record's fault, not a crash.

    The stdlib parser (used for .json files) accepts lone surrogate escapes (``"\\ud800"``)
    that are not Unicode, and integers beyond 64 bits; orjson refuses both."""
    try:
        return orjson.dumps(value, option=option).decode()
    except TypeError as exc:
        raise RecordError("wrong_type", f"record holds a value that cannot be stored as JSON: {exc}") from None


def _example(origin: str, fmt: str, messages: list[dict], warnings: list[str], meta: str) -> Example:
    canonical = _dumps(messages, orjson.OPT_SORT_KEYS)
    return Example(origin, fmt, canonical, sha256_text(canonical), _dumps(warnings), meta)


# ASCII whitespace as str.split sees it (\t-\r, \x1c-\x1f, space) becomes " ", the rest "x".
_WORD_MARKS = bytes(0x20 if chr(b).isspace() else 0x78 for b in range(256))


def count_words(text: str) -> int:
    """``len(text.split())`` without building the list: in ASCII text a word starts at the
    first character or after whitespace, counted on a one-byte-per-character mark string
    (2x faster on the bench corpus, whose documents are mostly ASCII)."""
    if not text.isascii():
        return len(text.split())
    marks = text.encode("ascii").translate(_WORD_MARKS)
    return marks.count(b" x") + marks.startswith(b"x")


def document_from_text(origin: str, text: str, title: str | None, meta: str,
                       opts: IngestOptions, kind: str | None = None) -> Document:
    """A normalised text becomes a document, or a transcript when its lines are speaker turns."""
    if not text:
        raise RecordError("empty_record", "no text after normalisation")
    if kind is None:
        kind = "transcript" if looks_like_transcript(text, roles=opts.speaker_roles) else "document"
    turns = None
    if kind == "transcript":
        parsed = parse_turns(text, opts.speaker_roles)
        turns = orjson.dumps([t.as_dict() for t in parsed]).decode()
    return Document(origin, kind, title, text, sha256_text(text), count_words(text), turns, meta)


def record_to_row(record: Any, origin: str, opts: IngestOptions) -> Document | Example:
    """Build the row for one record or raise ``RecordError`` saying why it cannot be used."""
    if not isinstance(record, dict):
        raise RecordError("wrong_type", f"expected an object, got {type(record).__name__}")
    if not record:
        raise RecordError("empty_record", "record has no fields")
    fields = resolve_fields(tuple(record), tuple(sorted(opts.fields.items())))
    shape = detect_shape(fields, opts.format)
    if shape is None:
        raise RecordError("unknown_shape", f"no messages, instruction/response, prompt/completion, dialogue or "
                          f"text field among {sorted(record)[:12]}{_unmatched(record, opts)}; "
                          f"map one with --field ROLE=NAME")
    needed = [role for role in SHAPES[shape] if role not in fields]
    if needed:
        raise RecordError("missing_key", f"missing field {_wanted(needed[0], opts)} required by --format {shape}"
                          f"{_unmatched(record, opts)}")
    if shape == "chat":
        messages, warnings = validate_messages(record[fields["messages"]])
        return _example(origin, "chat", messages, warnings, _metadata(record, {fields["messages"]}))
    if shape in ("alpaca", "prompt_completion"):
        ask, answer = ("instruction", "response") if shape == "alpaca" else ("prompt", "completion")
        user = _text(record, fields[ask])
        extra = _text(record, fields["input"], required=False) if shape == "alpaca" and "input" in fields else ""
        reply = _text(record, fields[answer])
        messages = []
        used = {fields[ask], fields[answer]} | ({fields["input"]} if extra or "input" in fields else set())
        if "system" in fields and (system := _text(record, fields["system"], required=False)):
            messages.append({"role": "system", "content": system})
            used.add(fields["system"])
        messages += [{"role": "user", "content": f"{user}\n\n{extra}" if extra else user},
                     {"role": "assistant", "content": reply}]
        return _example(origin, shape, messages, [], _metadata(record, used))
    key = fields["dialogue" if shape == "transcript" else "text"]
    title_key = fields.get("title")
    title = _title(record, title_key)
    text = _text(record, key)
    kind = "transcript" if shape == "transcript" and looks_like_transcript(text, declared=True) else None
    # The title stays in metadata too: a skipped duplicate keeps only its metadata.
    return document_from_text(origin, text, title, _metadata(record, {key}), opts, kind)
