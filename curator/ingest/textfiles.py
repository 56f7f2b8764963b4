"""Whole-file text formats: plain text and Markdown (a document, or a transcript when its
lines are speaker turns) and WebVTT/SubRip subtitles (always a transcript)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import orjson

from ..normalize import normalize_text
from .decoding import decode_utf8
from .options import IngestOptions
from .records import ParsedFile, RecordError
from .shapes import document_from_text
from .transcript import Turn, speaker_role

_TIMING = re.compile(r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>|\{\\[^}]*\}")  # HTML-like cue tags and SRT/ASS overrides ({\an8})
_SPEAKER = re.compile(r"^\s*(?:-\s*)?([^\W\d_][\w .'\-]{0,38}?)\s*:\s+(.*)$")


def _check_size(data: bytes, opts: IngestOptions) -> None:
    if len(data) > opts.max_record_bytes:
        raise RecordError("too_large", f"file is {len(data):,} bytes, over the {opts.max_record_bytes:,}-byte "
                                       "record limit (CURATOR_MAX_RECORD_BYTES)")


def read_text(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    _check_size(data, opts)
    parsed = ParsedFile(path, "text")
    text = normalize_text(decode_utf8(data))
    kind = "transcript" if opts.format == "transcript" else ("document" if opts.format == "text" else None)
    meta = orjson.dumps({"file_name": Path(path).name}).decode()
    parsed.documents.append(document_from_text(f"{path}:1", text, Path(path).name, meta, opts, kind))
    return parsed


def _cue_text(line: str) -> str:
    """Cue text without markup; WebVTT escapes ``&``, ``<`` and ``>`` as entities."""
    said = _TAG.sub("", line)
    if "&" in said:
        said = normalize_text(html.unescape(said))
    return said.strip()


def _cues(text: str) -> list[tuple[str | None, str]]:
    """(speaker, text) per cue line; speakers from ``<v Name>`` tags or ``Name:`` prefixes.

    A line without a label continues the speaker before it in the same cue, as a ``<v>`` span
    runs to the end of its cue and a wrapped ``Name:`` line is still that speaker talking."""
    cues: list[tuple[str | None, str]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().split("\n")
        timing = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if timing is None:
            continue  # header (WEBVTT), NOTE and STYLE blocks
        speaker = None
        for line in lines[timing + 1:]:
            voice = _VOICE.search(line)
            said = _cue_text(line)
            if voice:
                speaker = voice.group(1).strip()
            elif match := _SPEAKER.match(said):
                speaker, said = match.group(1).strip(), match.group(2).strip()
            if said:
                cues.append((speaker, said))
    return cues


def read_subtitles(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    """Consecutive cues of one speaker are one turn: cue boundaries are timing, not meaning."""
    _check_size(data, opts)
    parsed = ParsedFile(path, "subtitles")
    turns: list[Turn] = []
    for speaker, said in _cues(normalize_text(decode_utf8(data))):
        if turns and turns[-1].speaker == speaker:
            turns[-1].text += " " + said
        else:
            turns.append(Turn(speaker, speaker_role(speaker, opts.speaker_roles) if speaker else None, said))
    if not turns:
        raise RecordError("empty_record", "no subtitle cues with text")
    text = "\n".join(f"{t.speaker}: {t.text}" if t.speaker else t.text for t in turns)
    meta = orjson.dumps({"file_name": Path(path).name, "cues_format": Path(path).suffix.lstrip(".")}).decode()
    doc = document_from_text(f"{path}:1", normalize_text(text), Path(path).name, meta, opts, "transcript")
    doc.turns = orjson.dumps([t.as_dict() for t in turns]).decode()
    parsed.documents.append(doc)
    return parsed
