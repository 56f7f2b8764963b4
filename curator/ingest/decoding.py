"""Bytes to text with errors that name the line: binary files, UTF-16, invalid UTF-8."""

from __future__ import annotations

import codecs

from .records import RecordError

BINARY_PROBE = 8192


def check_not_binary(head: bytes) -> None:
    """Refuse UTF-16/32 text and binary files before anything is parsed."""
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if head.startswith(bom):
            raise RecordError("wrong_encoding", f"file is {name} encoded; re-save it as UTF-8")
    probe = head[:BINARY_PROBE]
    if b"\0" in probe:
        if _looks_like_utf16(probe):
            raise RecordError("wrong_encoding", "file looks UTF-16 encoded (no byte order mark); re-save it as UTF-8")
        raise RecordError("binary_file", "binary content (NUL bytes), not a text file of this format")


def _looks_like_utf16(probe: bytes) -> bool:
    """UTF-16 text without a BOM: ASCII characters with a NUL in every other byte.

    Said apart from "binary" because the fix (re-save as UTF-8) is one the user can make."""
    if len(probe) < 4:
        return False
    even, odd = probe[0::2], probe[1::2]
    for zeros, chars in ((odd, even), (even, odd)):
        if zeros.count(0) >= 0.9 * len(zeros) and sum(9 <= b < 127 for b in chars) >= 0.9 * len(chars):
            return True
    return False


def decode_utf8(data: bytes, first_line: int = 1) -> str:
    """Strict UTF-8 (a BOM is dropped); the error names the line and byte column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RecordError(
            "invalid_utf8",
            f"not valid UTF-8 at line {line}, byte {column} (0x{data[exc.start]:02x}); re-save the file as UTF-8",
            line,
        ) from None
    return text[1:] if text.startswith("\ufeff") else text
