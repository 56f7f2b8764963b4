"""JSONL and JSON readers. Every record is handled alone: one bad line is one reject, and the
rest of the file still lands."""

from __future__ import annotations

import json

import orjson

from .decoding import decode_utf8
from .options import IngestOptions
from .records import ParsedFile, RecordError, Reject
from .shapes import record_to_row


def _add(parsed: ParsedFile, row) -> None:
    (parsed.examples if row.__class__.__name__ == "Example" else parsed.documents).append(row)


def _take(parsed: ParsedFile, record, origin: str, opts: IngestOptions) -> None:
    try:
        _add(parsed, record_to_row(record, origin, opts))
    except RecordError as err:
        parsed.rejects.append(Reject(origin, err.code, err.reason))


def read_jsonl(data: bytes, path: str, first_line: int, at_eof: bool, opts: IngestOptions) -> ParsedFile:
    """Parse a run of whole lines; ``first_line`` is the line number of ``data``'s first line."""
    parsed = ParsedFile(path, "jsonl")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    last = len(lines) - 1
    truncated_tail = at_eof and not data.endswith(b"\n")
    for i, raw in enumerate(lines):
        origin = f"{path}:{first_line + i}"
        if len(raw) > opts.max_record_bytes:
            parsed.rejects.append(Reject(origin, "too_large",
                                         f"record is {len(raw):,} bytes, over the {opts.max_record_bytes:,}-byte limit"))
            continue
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            try:
                decode_utf8(raw, first_line + i)
            except RecordError as err:
                parsed.rejects.append(Reject(origin, err.code, err.reason))
                continue
            if truncated_tail and i == last:
                parsed.rejects.append(Reject(origin, "truncated", f"file ends inside this record: {exc}"))
            else:
                parsed.rejects.append(Reject(origin, "malformed_json", f"malformed JSON: {exc}"))
            continue
        _take(parsed, record, origin, opts)
    return parsed


def _list_of_records(document: dict) -> tuple[str, list] | None:
    """The first value that is a list of objects, e.g. ``{"documents": [...], "labels": {...}}``."""
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value[:10]):
            return key, value
    return None


def read_json(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    """A JSON array of records (origins carry line numbers), an object holding such a list,
    or a single record object. A syntax error rejects the rest of the file from that line;
    records before it still land."""
    parsed = ParsedFile(path, "json")
    text = decode_utf8(data)
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if text.startswith("[", pos):
        pos += 1
        line = 1 + text.count("\n", 0, pos)
        index = 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n,":
                if text[pos] == "\n":
                    line += 1
                pos += 1
            if pos >= len(text):
                parsed.rejects.append(Reject(f"{path}:{line}", "truncated", "file ends before the closing ']'"))
                break
            if text[pos] == "]":
                break
            try:
                record, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                parsed.rejects.append(Reject(f"{path}:{exc.lineno}", "malformed_json",
                                             f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
                                             f"the rest of the file after record {index} was not read"))
                break
            size = end - pos
            origin = f"{path}:{line}"
            if size > opts.max_record_bytes:
                parsed.rejects.append(Reject(origin, "too_large",
                                             f"record is {size:,} characters, over the {opts.max_record_bytes:,} limit"))
            else:
                _take(parsed, record, origin, opts)
            line += text.count("\n", pos, end)
            pos, index = end, index + 1
        return parsed
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        code = "truncated" if exc.pos >= len(text.rstrip()) else "malformed_json"
        raise RecordError(code, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    found = _list_of_records(document) if isinstance(document, dict) else None
    if found is None:
        _take(parsed, document, f"{path}:1", opts)
        return parsed
    key, records = found
    for i, record in enumerate(records):
        origin = f"{path}:{key}[{i}]"
        size = len(orjson.dumps(record))
        if size > opts.max_record_bytes:
            parsed.rejects.append(Reject(origin, "too_large",
                                         f"record is {size:,} bytes, over the {opts.max_record_bytes:,}-byte limit"))
            continue
        _take(parsed, record, origin, opts)
    return parsed
