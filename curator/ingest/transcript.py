"""Speaker-labelled transcripts: ``Doctor: ...``, ``[patient] ...`` lines into (speaker, role, text) turns.

Roles come from a configurable speaker→role map; label variants such as ``Doctor_2``,
``guest_family2`` or ``" Doctor"`` fall back to their base speaker.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

_BRACKET = re.compile(r"^\s*\[(?P<speaker>[^\]\n]{1,40})\]\s*:?\s*(?P<text>.*)$")
# A label starts with a letter of any script ("Médico:", "Врач:"), not a digit: "10:30" is a time.
_COLON = re.compile(r"^\s*(?P<speaker>[^\W\d_][\w .'\-]{0,38}?)\s*:(?:\s+(?P<text>.*)|\s*$)")
_SUFFIX = re.compile(r"[\s_\-]*\d+$")
_SPACES = re.compile(r"\s+")
_WORD_BREAK = re.compile(r"[_\-.]")


@dataclass(slots=True)
class Turn:
    speaker: str | None
    role: str | None
    text: str

    def as_dict(self) -> dict:
        return {"speaker": self.speaker, "role": self.role, "text": self.text}


def speaker_role(speaker: str, roles: dict[str, str]) -> str | None:
    """Look the speaker up exactly, then without a numeric suffix, then by its first word."""
    key = _SPACES.sub("_", speaker.strip().lower())
    for candidate in (key, _SUFFIX.sub("", key), _WORD_BREAK.split(key, 1)[0]):
        if candidate in roles:
            return roles[candidate]
    return None


@lru_cache(maxsize=4096)  # detection and then parsing label the same lines: the second pass is free
def _label(line: str) -> tuple[str, str] | None:
    if ":" not in line and "[" not in line:  # each pattern needs one: skip the regex for most prose
        return None
    match = _BRACKET.match(line) or _COLON.match(line)
    if not match:
        return None
    return match["speaker"].strip(), (match["text"] or "").strip()


def parse_turns(text: str, roles: dict[str, str]) -> list[Turn]:
    """Split normalised text into turns; unlabelled lines continue the current turn."""
    turns: list[Turn] = []
    role_of: dict[str, str | None] = {}  # a transcript has few speakers and many turns
    for line in text.split("\n"):
        labelled = _label(line)
        if labelled:
            speaker, said = labelled
            if speaker not in role_of:
                role_of[speaker] = speaker_role(speaker, roles)
            turns.append(Turn(speaker, role_of[speaker], said))
        elif line.strip():
            if turns:
                turns[-1].text = f"{turns[-1].text}\n{line.strip()}".strip()
            else:
                turns.append(Turn(None, None, line.strip()))
    return [t for t in turns if t.text]


def looks_like_transcript(text: str, declared: bool = False, roles: dict[str, str] | None = None) -> bool:
    """Most non-empty lines carry a speaker label, and a few speakers take turns.

    Free text (``declared=False``) must also show a speaker coming back, which guards against
    documents with ``Term: ...`` headings where labels are many and each is used once; a short
    exchange whose speakers are all in the role map and play different roles (``Doctor:`` then
    ``Patient:``) is a transcript without that. Text from a dialogue field (``declared=True``)
    needs only labelled lines.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if text.count(":") + text.count("[") < 0.5 * len(lines):  # every label has one: most text stops here
        return False
    speakers = Counter(label[0].lower() for line in lines if (label := _label(line)))
    labelled = sum(speakers.values())
    if labelled < 1 or labelled < 0.5 * len(lines):
        return False
    if declared:
        return True
    if labelled < 2 or len(speakers) < 2:
        return False
    if _known_roles_take_turns(speakers, roles or {}):
        return True
    return speakers.most_common(1)[0][1] >= 2 and len(speakers) <= max(6, labelled // 3)


def _known_roles_take_turns(speakers: Counter, roles: dict[str, str]) -> bool:
    found = [speaker_role(s, roles) for s in speakers]
    return None not in found and len(set(found)) >= 2
