"""Gopher's repetition rules (Rae et al. 2021, table A1; datatrove's GopherRepetitionFilter):
the share of duplicated lines and paragraphs (by count and by characters), the share of
characters in the most frequent 2-4-gram, and in duplicated 5-10-grams.

Gopher measured web pages; a response is much shorter, so the line rules need ``min_lines``
lines and the n-gram rules ``min_words`` words before they speak (below 100 words a polite
reply repeats "provide you with" often enough to cross Gopher's top-3-gram bound): a clinical note that repeats
"Noncontributory." under two headings is a note, not a loop."""

from __future__ import annotations

import re
from collections import Counter

from .base import Flag, QualityFilter, Sample

_PARAGRAPHS = re.compile(r"\n\s*\n")
_WORDS = re.compile(r"\w+", re.UNICODE)

TOP_NGRAMS = ((2, 0.20), (3, 0.18), (4, 0.16))
DUP_NGRAMS = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))


def looks_like_code(text: str) -> bool:
    """Code repeats its keywords and names by nature (``std::cout <<``); the n-gram rules are for prose."""
    if "```" in text:
        return True
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return len(lines) >= 3 and sum(line.endswith((";", "{", "}", ")", ":")) for line in lines) / len(lines) > 0.4


def _duplicates(elements: list[str]) -> tuple[int, int]:
    """(number of elements seen before, characters in them)."""
    seen: set[str] = set()
    count = chars = 0
    for element in elements:
        if element in seen:
            count += 1
            chars += len(element)
        else:
            seen.add(element)
    return count, chars


def _top_ngram_share(words: list[str], n: int) -> float:
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    if not grams:
        return 0.0
    gram, count = grams.most_common(1)[0]
    if count < 2:
        return 0.0
    return len("".join(gram)) * count / max(1, sum(len(w) for w in words))


def _dup_ngram_share(words: list[str], n: int) -> float:
    """Characters covered by n-grams that occur more than once (each word counted once)."""
    seen: set[tuple] = set()
    covered = [False] * len(words)
    for i in range(len(words) - n + 1):
        gram = tuple(words[i:i + n])
        if gram in seen:
            for j in range(i, i + n):
                covered[j] = True
        seen.add(gram)
    total = sum(len(w) for w in words)
    return sum(len(w) for w, c in zip(words, covered) if c) / total if total else 0.0


class Repetition(QualityFilter):
    """A model stuck in a loop repeats lines, paragraphs or phrases; a reviewer rejects it at a glance."""

    name = "repetition"
    description = ("Gopher repetition: duplicate lines/paragraphs > 30% (20% of characters), top 2-4-gram "
                   "share > 20/18/16%, duplicated 5-10-grams > 15..10%")

    def __init__(self, min_lines: int = 4, min_words: int = 100, min_line_chars: int = 10, dup_line_frac: float = 0.3,
                 dup_line_char_frac: float = 0.2, dup_para_frac: float = 0.3, dup_para_char_frac: float = 0.2):
        self.min_lines, self.min_words, self.min_line_chars = min_lines, min_words, min_line_chars
        self.dup_line_frac, self.dup_line_char_frac = dup_line_frac, dup_line_char_frac
        self.dup_para_frac, self.dup_para_char_frac = dup_para_frac, dup_para_char_frac

    def _units(self, what: str, units: list[str], text_len: int, frac: float, char_frac: float) -> Flag | None:
        if len(units) < self.min_lines:
            return None
        count, chars = _duplicates(units)
        if count / len(units) > frac:
            return self.flag(f"{count} of {len(units)} {what}s repeat an earlier one", round(count / len(units), 3))
        if chars / max(1, text_len) > char_frac:
            return self.flag(f"repeated {what}s hold {chars} of {text_len} characters", round(chars / text_len, 3))
        return None

    def check(self, sample: Sample) -> Flag | None:
        text = sample.response.strip()
        paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
        found = self._units("paragraph", paragraphs, len(text), self.dup_para_frac, self.dup_para_char_frac)
        # a line of a few characters ("}", "Denies.") repeats in any code or note; Gopher's line
        # rule is about repeated content, so only lines of min_line_chars count
        lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= self.min_line_chars]
        found = found or self._units("line", lines, len(text), self.dup_line_frac, self.dup_line_char_frac)
        if found:
            return found
        words = _WORDS.findall(text.lower())
        if len(words) < self.min_words or looks_like_code(text):
            return None
        for n, limit in TOP_NGRAMS:
            share = _top_ngram_share(words, n)
            if share > limit:
                return self.flag(f"the most frequent {n}-gram covers {share:.0%} of the characters", round(share, 3))
        for n, limit in DUP_NGRAMS:
            share = _dup_ngram_share(words, n)
            if share > limit:
                return self.flag(f"repeated {n}-grams cover {share:.0%} of the characters", round(share, 3))
        return None
