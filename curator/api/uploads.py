"""Multipart uploads written straight into one new batch directory under the uploads dir.

Starlette's form parser spools every file to a temporary file before the route runs, so a
size limit checked afterwards still lets an oversized upload fill the disk. Here each file part
goes to its final path as it arrives and the request stops at the first byte over the limit;
on any failure the batch directory is removed, so nothing partial is left behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from ..errors import InputError, TooLargeError

MAX_FILES = 1000
MAX_FIELD_BYTES = 64 * 1024


class UploadError(InputError):
    """The request is not an acceptable upload (400): bad filename, malformed body, no files."""


class UploadTooLarge(TooLargeError):
    """A file is larger than ``max_upload_bytes`` (413)."""


def safe_name(raw: str) -> str:
    """The relative path to store an upload under (``dir/name`` keeps a directory's files apart,
    as the CLI sends them); refuse, with the reason, any name that could point outside the batch
    directory rather than guess what the client meant."""
    if not raw:
        raise UploadError("an uploaded file has an empty filename")
    if any(ord(c) < 32 or c == "\x7f" for c in raw):
        raise UploadError(f"filename {raw!r} contains a NUL or control character")
    if "\\" in raw:
        raise UploadError(f"filename {raw!r} contains a backslash; send the bare file name")
    if raw.startswith("/"):
        raise UploadError(f"filename {raw!r} is an absolute path; send the bare file name")
    parts = raw.split("/")
    if ".." in parts:
        raise UploadError(f"filename {raw!r} attempts path traversal ('..'); send the bare file name")
    if parts[-1] in ("", "."):
        raise UploadError(f"filename {raw!r} names no file")
    parts = [p for p in parts if p not in ("", ".")]
    if any(p.startswith(".") for p in parts[:-1]) or len(parts) > 32:
        raise UploadError(f"filename {raw!r}: hidden or too deeply nested directories are refused")
    if any(len(p.encode()) > 255 for p in parts):
        raise UploadError(f"filename {raw[:40]!r}… has a part longer than 255 bytes")
    return "/".join(parts)


def _text(value: bytes | None, what: str) -> str:
    try:
        return (value or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError(f"{what} is not valid UTF-8") from None


@dataclass
class Upload:
    directory: Path
    files: list[Path] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def prune(self, kept: set[str]) -> list[str]:
        """Delete the files whose absolute path is not in ``kept`` (rejected whole, or skipped as
        already ingested), then the directories left empty, the batch directory included: an
        upload that partly succeeded keeps only what the store points at. Returns the names removed."""
        removed = []
        for path in self.files:
            if str(path.resolve()) not in kept:
                path.unlink(missing_ok=True)
                removed.append(path.relative_to(self.directory).as_posix())
        for folder, _dirs, _files in sorted(os.walk(self.directory), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(folder)  # only succeeds when empty
            except OSError:
                pass
        return removed

    def relative(self, origin: str) -> str:
        """An origin as the client knows it (``name:line``), without the server's directories."""
        return origin.removeprefix(f"{self.directory.resolve()}/")


class _Receiver:
    """python-multipart callbacks: ``file_field`` parts go to disk, the others are small text fields."""

    def __init__(self, upload: Upload, file_field: str, field_names: tuple[str, ...], max_bytes: int):
        self.upload, self.file_field, self.field_names, self.max_bytes = upload, file_field, field_names, max_bytes
        self.ended = False
        self._header, self._value = b"", b""
        self._begin()

    def _begin(self) -> None:
        self._disposition = b""
        self._field = ""
        self._data = bytearray()
        self._handle: BinaryIO | None = None
        self._size = 0

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end, "on_end": self.on_end}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._field = _text(options.get(b"name"), "a form field name")
        if self._field == self.file_field:
            self._open(options)
        elif self._field not in self.field_names:
            expected = ", ".join((self.file_field, *self.field_names))
            raise UploadError(f"unexpected form field {self._field!r}; expected {expected}")
        elif self._field in self.upload.fields:
            raise UploadError(f"form field {self._field!r} given twice")

    def _open(self, options: dict[bytes, bytes]) -> None:
        if b"filename" not in options:
            raise UploadError(f"the {self.file_field!r} field carries files: each part needs a filename")
        if len(self.upload.files) >= MAX_FILES:
            raise UploadError(f"more than {MAX_FILES} files in one upload; split it")
        name = safe_name(_text(options[b"filename"], "a filename"))
        path = self.upload.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._handle = open(path, "xb")  # exclusive: never follows or replaces an existing entry
        except FileExistsError:
            raise UploadError(f"two uploaded files are named {name!r}; names in one upload must differ") from None
        self.upload.files.append(path)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._handle is None:
            if len(self._data) + len(chunk) > MAX_FIELD_BYTES:
                raise UploadError(f"form field {self._field!r} is longer than {MAX_FIELD_BYTES} bytes")
            self._data += chunk
            return
        self._size += len(chunk)
        if self._size > self.max_bytes:
            raise UploadTooLarge(f"{self.upload.files[-1].name} is larger than the upload limit of "
                                 f"{self.max_bytes} bytes per file (CURATOR_MAX_UPLOAD_BYTES)")
        self._handle.write(chunk)

    def on_part_end(self) -> None:
        if self._handle is not None:
            self.close()
        elif self._field:
            self.upload.fields[self._field] = _text(bytes(self._data), f"form field {self._field!r}")

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


async def receive(request: Request, uploads_dir: Path, max_bytes: int, *, file_field: str = "files",
                  field_names: tuple[str, ...] = ()) -> Upload:
    """Stream a multipart/form-data request into a new directory under ``uploads_dir``."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise UploadError(f"send the files as multipart/form-data in the {file_field!r} field")
    uploads_dir.mkdir(parents=True, exist_ok=True)
    upload = Upload(Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%dT%H%M%S-"), dir=uploads_dir)))
    receiver = _Receiver(upload, file_field, field_names, max_bytes)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    try:
        try:
            async for chunk in request.stream():
                # Callbacks write to disk: run them off the event loop.
                await run_in_threadpool(parser.write, chunk)
            parser.finalize()
        except FormParserError:
            raise UploadError("malformed multipart/form-data body") from None
        if not receiver.ended:
            raise UploadError("the multipart/form-data body ends before its closing boundary")
        if not upload.files:
            raise UploadError(f"no files: send one or more in the {file_field!r} field")
    except BaseException:
        receiver.close()
        upload.discard()
        raise
    return upload
