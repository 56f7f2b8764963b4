"""Token-budgeted chunks of a source document, each mapping back to its exact span.

A document is cut into *units*: sentences inside lines, each trimmed of surrounding
whitespace and tagged with the strength of the break before it (paragraph > line >
sentence > word). A sentence longer than the budget is cut into words, and a word longer
than the budget into characters. Units are packed greedily into chunks of at most
``max_tokens``; within the last half of the budget a chunk ends at the strongest break
available, so chunks prefer to stop at paragraphs, then lines, then sentences. The next
chunk starts with whole units from the previous chunk's tail (about ``overlap_tokens``).

Every chunk holds ``text == source[start:end]``: offsets are never recomputed from
stripped or rejoined text.

The sentence splitter is written here on purpose: pysbd and nltk are not dependencies of
curator, and nltk's punkt needs a model download at run time. Contracts need only a small
heuristic: a sentence ends at ``. ! ? ;`` followed by whitespace, except after a known
abbreviation ("No.", "Inc.", "e.g."), a dotted initialism ("U.S."), a list number opening
a line ("1.", "iv."), or when the next word starts in lower case.

Tokens are approximated as ``ceil(characters / 4)`` (about right for English under the
common BPE tokenizers). Pass ``count_tokens`` for a real tokenizer, e.g.
``lambda s: len(tok(s).input_ids)``; packing then sums per-unit counts and checks every
chunk once with the real counter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from ..errors import InputError

PARAGRAPH, LINE, SENTENCE, WORD = 3, 2, 1, 0
_END = 4  # the end of the text is the best place to stop

_LINES = re.compile(r"[^\n]+")
_ENDS = re.compile(r"[.!?;][\"'”’)\]]*(?=\s)")
_WORDS = re.compile(r"\S+")
_NEXT_LETTER = re.compile(r"\s+[\"'“‘(\[]*(\S)")
_LAST_TOKEN = re.compile(r"(\S+)$")
_LIST_NUMBER = re.compile(r"^\(?([0-9]{1,3}|[ivxlc]{1,5}|[a-z])\.$", re.IGNORECASE)
_ABBREVIATIONS = frozenset(
    "no nos inc ltd co corp llc plc mr mrs ms dr st sr jr vs art sec secs para paras cl "
    "ch p pp vol fig approx dept est ref jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


@dataclass(frozen=True)
class Chunk:
    """One chunk: ``text`` is exactly ``source[start:end]``."""

    index: int
    start: int
    end: int
    text: str


def approx_tokens(text: str) -> int:
    """The default token count: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


def _is_sentence_end(text: str, line_start: int, dot: int, after: int) -> bool:
    """Whether the terminator at ``dot`` (its closing quotes end at ``after``) ends a sentence."""
    if text[dot] != ".":
        return True
    nxt = _NEXT_LETTER.match(text, after)
    if nxt and nxt.group(1).islower():  # "e.g. the", "approx. ten"
        return False
    word = _LAST_TOKEN.search(text, max(line_start, dot - 40), dot + 1)
    if not word:
        return True
    token = word.group(1)
    bare = token.lstrip("(\"'“‘[").rstrip(".")
    if bare.lower() in _ABBREVIATIONS or "." in bare:  # "No.", "e.g.", "U.S."
        return False
    at_line_start = not text[line_start:word.start(1)].strip()
    return not (at_line_start and _LIST_NUMBER.match(token))  # "1. Definitions", "iv. Scope"


def sentence_spans(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, break_before)`` of every sentence, trimmed, in order.

    A line break always ends a sentence; ``break_before`` is PARAGRAPH after a blank line,
    LINE after a line break, SENTENCE otherwise."""
    spans: list[tuple[int, int, int]] = []
    prev_end = 0
    for line in _LINES.finditer(text):
        ls, le = line.span()
        strength = PARAGRAPH if text.count("\n", prev_end, ls) >= 2 else LINE
        pos = ls
        for m in _ENDS.finditer(text, ls, le):
            if _is_sentence_end(text, ls, m.start(), m.end()):
                _add(spans, text, pos, m.end(), strength)
                if spans and spans[-1][1] > pos:
                    strength = SENTENCE
                pos = m.end()
        _add(spans, text, pos, le, strength)
        if spans and spans[-1][1] > prev_end:
            prev_end = spans[-1][1]
    return spans


def _add(spans: list[tuple[int, int, int]], text: str, start: int, end: int, strength: int) -> None:
    segment = text[start:end]
    stripped = segment.strip()
    if stripped:
        s = start + len(segment) - len(segment.lstrip())
        spans.append((s, s + len(stripped), strength))


def _split_long(
    text: str, start: int, end: int, strength: int, max_tokens: int, count: Callable[[str], int]
) -> list[tuple[int, int, int]]:
    """Cut an over-long sentence into words, and an over-long word into character pieces."""
    units = []
    for w in _WORDS.finditer(text, start, end):
        ws, we = w.span()
        if count(text[ws:we]) <= max_tokens:
            units.append((ws, we, strength))
        else:
            pos = ws
            while pos < we:
                size = min(we - pos, max_tokens * 4)
                while size > 1 and count(text[pos:pos + size]) > max_tokens:
                    size //= 2
                units.append((pos, pos + size, strength))
                pos += size
                strength = WORD
        strength = WORD
    return units


def _units(text: str, max_tokens: int, count: Callable[[str], int]) -> list[tuple[int, int, int]]:
    """Sentences that fit the budget, and the word or character pieces of those that do not."""
    units: list[tuple[int, int, int]] = []
    for s, e, strength in sentence_spans(text):
        if count(text[s:e]) <= max_tokens:
            units.append((s, e, strength))
        else:
            units.extend(_split_long(text, s, e, strength, max_tokens, count))
    return units


def _check_budget(max_tokens: int, overlap_tokens: int) -> None:
    if max_tokens < 1:
        raise InputError(f"max_tokens must be at least 1, got {max_tokens}")
    if overlap_tokens < 0:
        raise InputError(f"overlap_tokens must not be negative, got {overlap_tokens}")
    if overlap_tokens >= max_tokens:
        raise InputError(
            f"overlap_tokens ({overlap_tokens}) must be smaller than max_tokens ({max_tokens}); "
            "lower the overlap or raise the budget"
        )


class _Packer:
    """Where a chunk that starts at unit ``i`` ends, and where the next one starts.

    Costs are exact for the default counter; with ``count_tokens`` they are per-unit sums, and
    each chunk is checked once with the real counter."""

    def __init__(self, text: str, units: list[tuple[int, int, int]], max_tokens: int, overlap_tokens: int,
                 count_tokens: Callable[[str], int] | None):
        self.text, self.units, self.n = text, units, len(units)
        self.max_tokens, self.overlap_tokens, self.count_tokens = max_tokens, overlap_tokens, count_tokens
        self.prefix = [0]
        if count_tokens is None:
            self.cost = self._span_cost
        else:
            for s, e, _ in units:
                self.prefix.append(self.prefix[-1] + count_tokens(text[s:e]))
            self.cost = self._summed_cost

    def _span_cost(self, i: int, j: int) -> int:
        """Tokens of units ``i`` to ``j``, both included, by the default counter."""
        return math.ceil((self.units[j][1] - self.units[i][0]) / 4)

    def _summed_cost(self, i: int, j: int) -> int:
        """Tokens of units ``i`` to ``j``, both included, summed per unit."""
        return self.prefix[j + 1] - self.prefix[i]

    def after(self, j: int) -> int:
        """The strength of the break after unit ``j``."""
        return self.units[j + 1][2] if j + 1 < self.n else _END

    def end(self, i: int) -> int:
        """The last unit of the chunk starting at ``i``: as many as fit, then back to the strongest
        break in the last half of the budget."""
        k = i
        while k + 1 < self.n and self.cost(i, k + 1) <= self.max_tokens:
            k += 1
        j, best = k, self.after(k)
        for cand in range(k - 1, i - 1, -1):
            if self.cost(i, cand) * 2 < self.max_tokens:
                break
            if self.after(cand) > best:
                j, best = cand, self.after(cand)
        if self.count_tokens is not None:
            while j > i and self.count_tokens(self.text[self.units[i][0]:self.units[j][1]]) > self.max_tokens:
                j -= 1
        return j

    def next_start(self, i: int, j: int) -> int:
        """The first unit of the chunk after ``i..j``: whole units of its tail, about the overlap."""
        nxt = j + 1
        while nxt > i + 1 and self.cost(nxt - 1, j) <= self.overlap_tokens:
            nxt -= 1
        if nxt == j + 1 and self.overlap_tokens and j > i and self.cost(j, j) * 2 <= self.max_tokens:
            nxt = j  # no tail fits the overlap: take the last whole sentence, if it is short
        while nxt <= j and self.cost(nxt, j + 1) > self.max_tokens:
            nxt += 1  # leave room for new text
        return nxt


def chunk_text(
    text: str,
    max_tokens: int = 512,
    overlap_tokens: int = 64,
    count_tokens: Callable[[str], int] | None = None,
) -> list[Chunk]:
    """Cut ``text`` into ordered, overlapping chunks of at most ``max_tokens`` tokens.

    Together the chunks cover every non-whitespace character of ``text``. A chunk exceeds
    the budget only when ``count_tokens`` rates a single character above it."""
    _check_budget(max_tokens, overlap_tokens)
    units = _units(text, max_tokens, count_tokens or approx_tokens)
    if not units:
        return []
    packer = _Packer(text, units, max_tokens, overlap_tokens, count_tokens)
    chunks: list[Chunk] = []
    i = 0
    while True:
        j = packer.end(i)
        start, end = units[i][0], units[j][1]
        chunks.append(Chunk(len(chunks), start, end, text[start:end]))
        if j + 1 >= len(units):
            return chunks
        i = packer.next_start(i, j)
