"""Which reader handles a file, and the unit of parallel work: one file, or one line-aligned
chunk of a large JSONL file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .decoding import check_not_binary
from .jsonfiles import read_json, read_jsonl
from .office import read_docx, read_pdf
from .options import IngestOptions
from .records import ParsedFile, RecordError, Reject
from .tabular import read_csv
from .textfiles import read_subtitles, read_text

READERS = {
    ".txt": "text", ".md": "text", ".markdown": "text", ".text": "text",
    ".vtt": "subtitles", ".srt": "subtitles",
    ".docx": "docx", ".pdf": "pdf",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv",
}
_MAGIC = {"pdf": b"%PDF", "docx": b"PK"}
_WHOLE_FILE = {"json": read_json, "csv": read_csv, "text": read_text, "subtitles": read_subtitles,
               "docx": read_docx, "pdf": read_pdf}
log = logging.getLogger(__name__)
_PDF_HEADER_WINDOW = 1024


def reader_for(path: Path) -> str | None:
    return READERS.get(path.suffix.lower())


@dataclass(frozen=True)
class Task:
    """A byte range of one file; whole files have ``start=0, end=size``."""

    path: str
    reader: str
    start: int
    end: int
    first_line: int
    at_eof: bool


def _read_range(task: Task) -> bytes:
    with open(task.path, "rb") as handle:
        handle.seek(task.start)
        return handle.read(task.end - task.start)


def _check_signature(data: bytes, reader: str) -> None:
    """A .docx is a zip; a PDF's ``%PDF`` header may follow up to 1 KiB of junk, which
    readers (pypdf included) accept, so only its absence from that window is corruption."""
    magic = _MAGIC[reader]
    found = magic in data[:_PDF_HEADER_WINDOW] if reader == "pdf" else data.startswith(magic)
    if not found:
        what = "no %PDF header in the first 1 KiB" if reader == "pdf" else "not a zip archive"
        raise RecordError("corrupt_file", f"not a {reader.upper()} file ({what}): wrong extension or damaged")


def _file_reject(task: Task, line: int | None, code: str, reason: str) -> ParsedFile:
    parsed = ParsedFile(task.path, task.reader)
    parsed.rejects.append(Reject(f"{task.path}:{line or task.first_line}", code, reason))
    return parsed


def _dispatch(task: Task, data: bytes, opts: IngestOptions) -> ParsedFile:
    if task.reader == "jsonl":
        return read_jsonl(data, task.path, task.first_line, task.at_eof, opts)
    reader = _WHOLE_FILE.get(task.reader)
    if reader is None:
        raise RecordError("unsupported_format", f"no reader for {task.reader!r}")
    return reader(data, task.path, opts)


def parse_task(task: Task, opts: IngestOptions) -> ParsedFile:
    """Parse one task; a fault of the whole file becomes a single reject naming its line.

    An exception no reader anticipated is also a reject of that file (code ``reader_error``,
    with the exception named), so one odd file never aborts a run of thousands; the
    traceback is logged for a bug report."""
    try:
        data = _read_range(task)
        if task.reader in _MAGIC:
            _check_signature(data, task.reader)
        elif task.start == 0:
            check_not_binary(data)
        return _dispatch(task, data, opts)
    except RecordError as err:
        return _file_reject(task, err.line, err.code, err.reason)
    except OSError as exc:
        return _file_reject(task, None, "unreadable", f"cannot read file: {exc}")
    except Exception as exc:  # noqa: BLE001 - contained per file, logged, reported as a reject
        log.exception("reader %s failed on %s", task.reader, task.path)
        return _file_reject(task, None, "reader_error",
                            f"unexpected {type(exc).__name__} in the {task.reader} reader: {exc}")


def plan_tasks(path: Path, reader: str, data: bytes, chunk_bytes: int) -> list[Task]:
    """Split large JSONL files at line ends so chunks parse in parallel; line numbers carry over."""
    size = len(data)
    if reader != "jsonl" or size <= chunk_bytes:
        return [Task(str(path), reader, 0, size, 1, True)]
    tasks, start, line = [], 0, 1
    while start < size:
        end = data.find(b"\n", min(start + chunk_bytes, size) - 1)
        end = size if end == -1 else end + 1
        tasks.append(Task(str(path), reader, start, end, line, end >= size))
        line += data.count(b"\n", start, end)
        start = end
    return tasks
