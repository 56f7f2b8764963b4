"""Rules read from the response's surface: empty, unfilled placeholders, truncation, refusals."""

from __future__ import annotations

import re

from ..errors import InputError
from .base import Flag, QualityFilter, Sample

_WORD_CHAR = re.compile(r"\w", re.UNICODE)
# "None." is a clinical note's whole allergies section and "25" a correct answer: short is not
# empty. These are the values a generator or export writes where it had nothing.
_FILLER = {"n/a", "null", "nan", "tbd", "todo", "[blank]", "<blank>", "<empty>", "(empty)", "lorem ipsum"}


class EmptyResponse(QualityFilter):
    """A response with (almost) nothing in it teaches nothing and wastes a reviewer's minute."""

    name = "empty"
    description = "no response, or fewer than min_chars letters/digits, or a filler word (n/a, none, ...)"

    def __init__(self, min_chars: int = 1):
        if min_chars < 0:
            raise InputError(f"empty: min_chars must be 0 or more, got {min_chars}")
        self.min_chars = min_chars

    def check(self, sample: Sample) -> Flag | None:
        text = sample.response.strip()
        letters = len(_WORD_CHAR.findall(text))
        if not text:
            return self.flag("the response is empty", 0)
        if text.lower().strip(" .!") in _FILLER:
            return self.flag(f"the response is a filler word: {text!r}", letters)
        if letters < self.min_chars:
            return self.flag(f"the response has {letters} letters or digits (fewer than {self.min_chars})", letters)
        return None


# {{Order Number}}, {{ name }}: Jinja/handlebars slots a template generator left unfilled;
# [INSERT NAME], <YOUR NAME>: the hand-written kind.
_PLACEHOLDER = re.compile(r"\{\{\s*[^{}\n]{1,60}?\s*\}\}|\[(?:insert|your|enter)\s[^\]\n]{1,40}\]|<(?:insert|your)\s[^>\n]{1,40}>",
                          re.IGNORECASE)


class Placeholders(QualityFilter):
    """An unfilled template slot (``{{Order Number}}``) would teach the model to emit slots."""

    name = "placeholder"
    description = "unfilled template placeholders in the response ({{Order Number}}, [insert name])"

    def check(self, sample: Sample) -> Flag | None:
        found = _PLACEHOLDER.findall(sample.response)
        if not found:
            return None
        distinct = list(dict.fromkeys(found))  # in the order a reader meets them
        return self.flag(f"{len(found)} unfilled placeholder(s): {', '.join(distinct[:3])}", len(found))


_TERMINAL = tuple(".!?:;)]}\"'`*>|") + ("”", "’", "»", "。")


_FUNCTION_WORDS = {"the", "a", "an", "and", "to", "of", "is", "was", "with", "for", "that", "she", "he", "it",
                   "her", "his", "they", "we", "you", "this", "be", "are", "were", "has", "had", "have"}


class Truncated(QualityFilter):
    """A response cut at the generator's token limit ends mid-sentence. A stored ``finish_reason``
    of ``length`` is proof; otherwise the last line must read as prose (at least ``min_words``
    words, two of them function words, so headings, medication lists and note fields such as
    "Retired Dock Hand" pass) and end in a word without closing punctuation."""

    name = "truncated"
    description = "cut mid-sentence: finish_reason 'length', or a last sentence without closing punctuation"

    def __init__(self, min_words: int = 8):
        self.min_words = min_words

    def check(self, sample: Sample) -> Flag | None:
        if sample.metadata.get("finish_reason") == "length":
            return self.flag("the generator stopped at its token limit (finish_reason=length)", "length")
        text = sample.response.rstrip()
        if not text or text.endswith(_TERMINAL) or "```" in text:
            return None
        last = text.splitlines()[-1].strip()
        words = last.split()
        prose = sum(w.lower().strip(",") in _FUNCTION_WORDS for w in words) >= 2
        if len(words) >= self.min_words and prose and last[-1].isalnum():
            return self.flag(f"ends mid-sentence: ...{last[-60:]!r}", len(words))
        return None


_REFUSAL = re.compile(
    r"\bas an? (?:ai|artificial intelligence)(?: language)?(?: model| assistant)?\b"
    r"|\bas a (?:large )?language model\b"
    r"|\bi(?:'m| am) (?:just )?an? (?:ai|language model)\b"
    r"|\bi(?:'m| am) sorry,? but i (?:can(?:no|')t|am unable|won't)\b"
    r"|\bi (?:cannot|can't|am unable to) (?:provide|assist|help) with (?:that|this)\b"
    r"|\bmy (?:knowledge|training) cut-?off\b",
    re.IGNORECASE)


class Refusal(QualityFilter):
    """Refusals and meta talk about being a model are not what experts want the model to learn."""

    name = "refusal"
    description = "refusal or meta phrases (\"As an AI language model\", \"I'm sorry, but I can't\")"

    def check(self, sample: Sample) -> Flag | None:
        for found in _REFUSAL.finditer(sample.response):
            if not _in_code(sample.response, found.start()):
                return self.flag(f"refusal/meta phrase: {found.group(0)!r}", found.group(0))
        return None


def _in_code(text: str, at: int) -> bool:
    """A phrase inside a string literal of code (``count_vowels("Hello, I am an AI")``) is data."""
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line = text[line_start:None if line_end < 0 else line_end]
    before = text[line_start:at]
    return any(c in line for c in "=(;{") and any(q in before for q in "\"'`")
