"""CSV/TSV tables: one record per row, columns mapped to field roles (see ``shapes``).

Origins are ``path:LINE`` with the line where the row starts, which differs from the row
number whenever cells hold line breaks (dialogues, notes).
"""

from __future__ import annotations

import csv
import re
import sys

from .decoding import decode_utf8
from .jsonfiles import _take
from .options import IngestOptions
from .records import ParsedFile, RecordError, Reject

csv.field_size_limit(sys.maxsize)  # the record-size limit is ours to enforce, with a clear reason
_BAD_BYTE = re.compile("[\udc80-\udcff]")
_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


class _LineCounter:
    """Feeds the csv reader line by line, so each row's first line is known.

    Lines end only at ``\n``, ``\r\n`` or ``\r``: ``str.splitlines`` would also split at form
    feeds, U+0085 or U+2028 inside a cell, and the csv reader ends a row at every line it is
    fed, so such a cell would tear its row in two."""

    def __init__(self, text: str):
        self.lines = [line for line in _LINE_END.split(text) if line]
        self.consumed = 0

    def __iter__(self):
        for line in self.lines:
            self.consumed += 1
            yield line


def _csv_error(origin: str, exc: csv.Error, feed: _LineCounter) -> Reject:
    """A quote still open at the end of the file means the file was cut inside this row."""
    if feed.consumed == len(feed.lines) and "end of data" in str(exc):
        return Reject(origin, "truncated", f"file ends inside a quoted cell of this row: {exc}")
    return Reject(origin, "malformed_csv", f"malformed CSV: {exc}")


def _decode(data: bytes) -> tuple[str, bool]:
    """(text, lossy): an invalid byte keeps the rows that decode; its row is rejected by line."""
    try:
        return decode_utf8(data), False
    except RecordError as err:
        if err.code != "invalid_utf8":
            raise
        return data.decode("utf-8", errors="surrogateescape").lstrip("\ufeff"), True


def _header(reader) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise RecordError("empty_record", "empty table: no header row") from None
    except csv.Error as exc:
        raise RecordError("bad_header", f"header row is not valid CSV: {exc}") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header) or not all(header):
        raise RecordError("bad_header", f"header must name every column once, got {header}")
    return header


def _row_problem(row: list[str], header: list[str], origin: str, lossy: bool, opts: IngestOptions) -> Reject | None:
    """Why a (non-blank) row cannot be a record, or None."""
    if len(row) != len(header):
        return Reject(origin, "malformed_csv", f"row has {len(row)} fields, the header has {len(header)}")
    size = sum(len(cell.encode("utf-8", "surrogateescape")) for cell in row)
    if size > opts.max_record_bytes:
        return Reject(origin, "too_large", f"record is {size:,} bytes, over the {opts.max_record_bytes:,}-byte limit")
    bad = lossy and next((m for cell in row if (m := _BAD_BYTE.search(cell))), None)
    if bad:
        byte = ord(bad.group()) - 0xDC00
        return Reject(origin, "invalid_utf8", f"not valid UTF-8 (byte 0x{byte:02x}) in this row; re-save the file as UTF-8")
    return None


def read_csv(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    parsed = ParsedFile(path, "csv")
    text, lossy = _decode(data)
    feed = _LineCounter(text)
    # strict: text after a closing quote or a quote left open at the end is an error for that
    # row, not silently glued into a cell.
    reader = csv.reader(iter(feed), delimiter="\t" if path.lower().endswith(".tsv") else ",", strict=True)
    header = _header(reader)
    start = feed.consumed + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.rejects.append(_csv_error(f"{path}:{start}", exc, feed))
            start = feed.consumed + 1
            continue
        origin = f"{path}:{start}"
        start = feed.consumed + 1
        if not row or all(not cell.strip() for cell in row):
            continue
        problem = _row_problem(row, header, origin, lossy, opts)
        if problem:
            parsed.rejects.append(problem)
        else:
            _take(parsed, dict(zip(header, row)), origin, opts)
    return parsed
