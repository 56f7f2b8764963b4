"""JSONL and JSON readers. Every record is handled alone: one bad line is one reject, and the
rest of the file still lands."""

from __future__ import annotations

import codecs
import json

import orjson

from .decoding import decode_utf8
from .options import IngestOptions
from .records import ParsedFile, RecordError, Reject
from .shapes import detect_shape, record_to_row, resolve_fields


def _add(parsed: ParsedFile, row) -> None:
    (parsed.examples if row.__class__.__name__ == "Example" else parsed.documents).append(row)


def _take(parsed: ParsedFile, record, origin: str, opts: IngestOptions) -> None:
    try:
        _add(parsed, record_to_row(record, origin, opts))
    except RecordError as err:
        parsed.rejects.append(Reject(origin, err.code, err.reason))


def _too_large(parsed: ParsedFile, origin: str, size: int, opts: IngestOptions) -> bool:
    if size <= opts.max_record_bytes:
        return False
    parsed.rejects.append(Reject(origin, "too_large",
                                 f"record is {size:,} bytes, over the {opts.max_record_bytes:,}-byte limit"))
    return True


def _ends_inside(fragment: str | bytes) -> bool:
    """True when ``fragment`` fails to parse only because it stops: a cut file, not bad syntax.

    orjson places the error of a cut value at its very end (the stdlib points at where the
    unterminated string began), so it is the one asked."""
    try:
        orjson.loads(fragment)
    except orjson.JSONDecodeError as exc:
        if isinstance(fragment, bytes):
            fragment = fragment.decode("utf-8", errors="replace")
        return exc.pos >= len(fragment.rstrip())
    return False


def _line_reject(raw: bytes, exc: orjson.JSONDecodeError, line: int, tail: bool) -> tuple[str, str]:
    """(code, reason) for a JSONL line that does not parse: bad bytes, a cut last line, bad syntax."""
    try:
        decode_utf8(raw, line)
    except RecordError as err:
        return err.code, err.reason
    if tail and _ends_inside(raw):
        return "truncated", f"file ends inside this record (no closing bracket or quote): {exc.msg}"
    # orjson counts lines within the record, always "line 1": only the column helps here.
    return "malformed_json", f"malformed JSON at column {exc.colno}: {exc.msg}"


def read_jsonl(data: bytes, path: str, first_line: int, at_eof: bool, opts: IngestOptions) -> ParsedFile:
    """Parse a run of whole lines; ``first_line`` is the line number of ``data``'s first line."""
    parsed = ParsedFile(path, "jsonl")
    if first_line == 1 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]  # written by Windows editors; not part of the first record
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    last = len(lines) - 1
    truncated_tail = at_eof and not data.endswith(b"\n")
    for i, raw in enumerate(lines):
        origin = f"{path}:{first_line + i}"
        if _too_large(parsed, origin, len(raw), opts) or not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            code, reason = _line_reject(raw, exc, first_line + i, truncated_tail and i == last)
            parsed.rejects.append(Reject(origin, code, reason))
            continue
        _take(parsed, record, origin, opts)
    return parsed


def _is_record_list(value) -> bool:
    """A non-empty list mostly of objects; its odd elements become ``wrong_type`` rejects
    instead of hiding the whole list."""
    if not isinstance(value, list) or not value:
        return False
    head = value[:10]
    return sum(isinstance(v, dict) for v in head) * 2 > len(head)


def _list_of_records(document: dict) -> tuple[str, list] | None:
    """The first value that is a list of objects, e.g. ``{"documents": [...], "labels": {...}}``.

    An object that is itself a record (``{"messages": [...]}``) is not a wrapper: its message
    list must not be split into records."""
    if detect_shape(resolve_fields(tuple(document), ()), "auto") is not None:
        return None
    for key, value in document.items():
        if _is_record_list(value):
            return key, value
    return None


def _skip_space(text: str, pos: int, line: int) -> tuple[int, int]:
    while pos < len(text) and text[pos] in " \t\r\n":
        if text[pos] == "\n":
            line += 1
        pos += 1
    return pos, line


def _column(text: str, pos: int) -> int:
    return pos - text.rfind("\n", 0, pos)


def _read_array(parsed: ParsedFile, text: str, pos: int, path: str, opts: IngestOptions) -> None:
    """Records of a top-level array one by one, each with the line it starts on. Parsing stops
    at the first syntax fault (nothing after it can be trusted); records before it land."""
    decoder = json.JSONDecoder()
    line = 1 + text.count("\n", 0, pos)
    pos, index, expect_value = pos + 1, 0, True

    def stop(code: str, at_line: int, reason: str) -> None:
        parsed.rejects.append(Reject(f"{path}:{at_line}", code, f"{reason}; {index} record(s) before it were read, "
                                                                f"nothing after it"))

    while True:
        pos, line = _skip_space(text, pos, line)
        if pos >= len(text):
            return stop("truncated", line, "file ends before the closing ']'")
        if text[pos] == "]":
            break
        if not expect_value:
            if text[pos] != ",":
                return stop("malformed_json", line, f"expected ',' or ']' at line {line} column "
                                                    f"{_column(text, pos)}, found {text[pos]!r}")
            pos, expect_value = pos + 1, True
            continue
        try:
            record, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if _ends_inside(text[pos:]):
                return stop("truncated", line, f"file ends inside the record starting at line {line}")
            return stop("malformed_json", exc.lineno, f"malformed JSON at line {exc.lineno} column {exc.colno}: "
                                                      f"{exc.msg}")
        origin = f"{path}:{line}"
        if not _too_large(parsed, origin, len(text[pos:end].encode()), opts):
            _take(parsed, record, origin, opts)
        line += text.count("\n", pos, end)
        pos, index, expect_value = end, index + 1, False
    pos, line = _skip_space(text, pos + 1, line)
    if pos < len(text):
        parsed.rejects.append(Reject(f"{path}:{line}", "malformed_json",
                                     f"unexpected text after the closing ']' at line {line} column "
                                     f"{_column(text, pos)}; it was not read"))


def _json_size(record) -> int:
    """Bytes of a record as JSON; the stdlib writes what orjson refuses (lone surrogates,
    integers beyond 64 bits), which ``record_to_row`` then rejects with its reason."""
    try:
        return len(orjson.dumps(record))
    except TypeError:
        return len(json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _json_lines_named_json(text: str, exc: json.JSONDecodeError) -> bool:
    """One value per line saved as ``.json`` (a common export): the first value ends its line
    and more follow. Read as JSON Lines rather than rejecting the whole file."""
    return exc.msg == "Extra data" and text[:exc.pos].rstrip(" \t\r").endswith("\n")


def read_json(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    """A JSON array of records (origins carry line numbers), an object holding such a list,
    or a single record object. A syntax error rejects the rest of the file from that line;
    records before it still land."""
    parsed = ParsedFile(path, "json")
    text = decode_utf8(data)
    pos = len(text) - len(text.lstrip())
    if pos == len(text):
        raise RecordError("empty_record", "empty file: no JSON value")
    if text.startswith("[", pos):
        _read_array(parsed, text, pos, path, opts)
        return parsed
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if _json_lines_named_json(text, exc):
            lines = read_jsonl(data, path, 1, True, opts)
            lines.format = "json"
            return lines
        code = "truncated" if _ends_inside(text) else "malformed_json"
        cut = "file ends inside the JSON value; " if code == "truncated" else ""
        raise RecordError(code, f"{cut}malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                          exc.lineno) from None
    found = _list_of_records(document) if isinstance(document, dict) else None
    if found is None:
        if not _too_large(parsed, f"{path}:1", len(data), opts):
            _take(parsed, document, f"{path}:1", opts)
        return parsed
    key, records = found
    for i, record in enumerate(records):
        origin = f"{path}:{key}[{i}]"
        if not _too_large(parsed, origin, _json_size(record), opts):
            _take(parsed, record, origin, opts)
    return parsed
