"""Text normalisation and content hashing.

One definition of "the same text" for the whole pipeline: mojibake repaired (ftfy), Unicode
NFC, line endings unified, trailing spaces and control characters removed, runs of blank
lines collapsed. Leading indentation (of every line after the first) and inner spacing are
kept, because code answers and transcripts depend on them. Vertical tab and form feed are
line and page breaks in extracted text, so they become line breaks instead of vanishing
and gluing two words together.
"""

from __future__ import annotations

import hashlib
import re

import ftfy

from .mojibake import ftfy_leaves_unchanged

# ftfy's defaults also straighten curly quotes, unescape HTML and fold full-width forms;
# those change what the author wrote, so they are off: only damage is repaired.
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_character_width=False,
    fix_latin_ligatures=False,
    normalization="NFC",
    explain=False,
)
# ftfy fixes text line by line; lines that are pure ASCII cannot hold mojibake, so only the
# others go through it, and its control-character removal (ftfy's CONTROL_CHARS) runs once
# over the whole text. Same output as ftfy.fix_text (tests/ingest/test_normalize.py), ~40% faster.
# Of the non-ASCII lines, those ftfy provably returns as they are (curator.mojibake: no mojibake
# pattern can match, nothing for its other fixers, already NFC) skip ftfy too: ~10x less time
# in ftfy on the bench corpus, where nearly every such line is clean.
_FTFY_LINE = _FTFY._replace(remove_control_chars=False)
_FTFY_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]")
_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n\n"})
# Control characters of ASCII text, [\x00-\x08\x0b\x0c\x0e-\x1f\x7f]: bytes.translate deletes
# them ~3x faster than a regex scans for them.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f])
_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRAILING = re.compile(r"[ \t]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _fix_non_ascii_lines(text: str) -> str:
    if "\x1b" in text:
        text = _TERMINAL_ESCAPE.sub("", text)  # before control removal, as ftfy orders it
    text = _FTFY_CONTROL.sub("", text)
    out, pos, end = [], 0, len(text)
    while pos < end:
        stop = text.find("\n", pos) + 1 or end
        line = text[pos:stop]
        if line.isascii():
            out.append(line)
        elif len(line) > _FTFY_LINE.max_decode_length:  # ftfy cuts it into pieces: no shortcut
            out.append(ftfy.fix_text(line, _FTFY_LINE))
        elif ftfy_leaves_unchanged(line):
            out.append(line)
        else:
            out.append(ftfy.fix_and_explain(line, _FTFY_LINE)[0])
        pos = stop
    text = "".join(out)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def normalize_text(text: str) -> str:
    """Return the canonical form of ``text``; ASCII text skips the (slow) ftfy pass.

    Both paths must agree on ASCII input, or the same text would hash two ways."""
    if "\x0b" in text or "\x0c" in text:
        text = text.translate(_BREAKS)
    if text.isascii():
        if "\x1b" in text:
            text = _TERMINAL_ESCAPE.sub("", text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        kept = text.encode("ascii").translate(None, _CONTROL_BYTES)
        if len(kept) != len(text):
            text = kept.decode("ascii")
    else:
        # Before ftfy, whose line-break fix would turn a paragraph separator into a single \n.
        text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").replace("\ufeff", "")
        text = _fix_non_ascii_lines(text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
