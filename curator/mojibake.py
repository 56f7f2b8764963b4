"""Which text ftfy provably leaves as it is, so normalisation can skip it without asking ftfy.

ftfy (with the settings in ``curator.normalize``) changes a line only when

- its mojibake heuristic ``ftfy.badness.BADNESS_RE`` matches (otherwise ``fix_encoding`` returns
  the line untouched), or
- one of the other fixers that are on finds its target: C1 controls (``\\x80``-``\\x9f``), line
  breaks (``\\r``, ``\\u2028``, ``\\u2029``; ``\\x85`` is a C1 control), lone surrogates, terminal
  escapes (``\\x1b``), or
- the line is not in Unicode NFC.

Asking ``BADNESS_RE`` is the cost (a quarter of JSONL parsing): ``search`` tries ~40
alternatives at every character. But every alternative needs, at a fixed offset from where it
starts, one character of a small set (e.g. ``[{bad}]``: ``¦``, ``¤``, ``¨``...). Those sets and
offsets are read from ftfy's own compiled pattern at import (``_required``), so ``is_bad`` here
tries the pattern only at the few places a match can start, and gives ftfy's answer whatever
ftfy version is installed. When the pattern has a shape this reading does not understand, the
shortcut is off and every non-ASCII line goes to ftfy as before. tests/ingest/test_normalize.py
compares both ``is_bad`` and the normalised text with ftfy's, and fails when normalisation turns
on an ftfy fixer this module does not account for.
"""

from __future__ import annotations

import re
import unicodedata

try:  # the parser of the re module; private, hence the guard
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    _sre = _sre_parse = None

from ftfy.badness import BADNESS_RE

# Targets of the fixers other than fix_encoding that curator.normalize leaves on.
_FIXER_TARGETS = "\x80-\x9f\r\u2028\u2029\ud800-\udfff\x1b"


def _item_chars(op, av) -> list[tuple[int, int]] | None:
    """The code point ranges one mandatory single-character item matches, or None when it is
    not a plain literal or set (a category like ``\\w``, a negated set, ``.``, a repeat...)."""
    if op is _sre.LITERAL:
        return [(av, av)]
    if op is not _sre.IN:
        return None
    ranges = []
    for kind, value in av:
        if kind is _sre.LITERAL:
            ranges.append((value, value))
        elif kind is _sre.RANGE:
            ranges.append(value)
        else:  # NEGATE, CATEGORY: too wide to be of use
            return None
    return ranges


def _narrowest(alternative) -> tuple[list[tuple[int, int]], tuple[int, int]] | None:
    """The smallest all-non-ASCII set among an alternative's mandatory single-character items,
    and where it can stand (fewest and most characters before it): every match of this
    alternative holds one of its characters there."""
    best = None
    for i, (op, av) in enumerate(alternative):
        ranges = _item_chars(op, av)
        if ranges is None or any(lo < 0x80 for lo, _ in ranges):
            continue
        size = sum(hi - lo + 1 for lo, hi in ranges)
        if best is None or size < best[0]:
            best = size, ranges, _sre_parse.SubPattern(alternative.state, alternative.data[:i]).getwidth()
    return None if best is None else best[1:]


def _required(pattern: re.Pattern) -> tuple[str, tuple[int, ...]] | None:
    """(class body, offsets): every match of ``pattern`` holds a character of the class at one
    of the offsets from its start. None when some alternative has no such set, or the pattern
    is not a plain alternation (then nothing is skipped)."""
    if _sre_parse is None:
        return None
    try:
        tree = _sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - an unreadable pattern only turns the shortcut off
        return None
    if pattern.flags & (re.IGNORECASE | re.MULTILINE) or len(tree) != 1 or tree[0][0] is not _sre.BRANCH:
        return None
    ranges, offsets = set(), set()
    for alternative in tree[0][1][1]:
        found = _narrowest(alternative)
        if found is None or found[1][1] >= _sre.MAXREPEAT:
            return None
        ranges.update(found[0])
        offsets.update(range(found[1][0], found[1][1] + 1))
    body = "".join(re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
                   for lo, hi in sorted(ranges))
    return body, tuple(sorted(offsets))


_FOUND = _required(BADNESS_RE)
_REQUIRED = re.compile(f"[{_FOUND[0]}]") if _FOUND else None
_OFFSETS = _FOUND[1] if _FOUND else ()
_FIXED_BY_OTHERS = re.compile(f"[{_FIXER_TARGETS}]")


def is_bad(text: str) -> bool:
    """``ftfy.badness.is_bad(text)``, trying the pattern only where a match can start: at the
    offsets before each required character (``re.Pattern.match`` at a position sees the same
    ``^`` as ``search`` does there)."""
    if _REQUIRED is None:
        return BADNESS_RE.search(text) is not None
    tried = set()
    for found in _REQUIRED.finditer(text):
        for start in (found.start() - k for k in _OFFSETS):
            if start >= 0 and start not in tried:
                tried.add(start)
                if BADNESS_RE.match(text, start):
                    return True
    return False


def ftfy_leaves_unchanged(text: str) -> bool:
    """True only when ``ftfy.fix_and_explain(text, config)`` (config as in ``curator.normalize``)
    returns ``text`` as it is; False means "ask ftfy", not "ftfy changes it"."""
    return (_REQUIRED is not None and not _FIXED_BY_OTHERS.search(text)
            and unicodedata.is_normalized("NFC", text) and not is_bad(text))
