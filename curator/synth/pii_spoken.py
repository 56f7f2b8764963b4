"""Identifiers as speech recognition and people write them: numbers in words.

ASR writes "six one seven, four nine two, three three eight zero", "march third nineteen sixty
two", "four twelve maple street" and "t dot smith at gmail dot com". ``normalise`` turns runs of
number words into digits ("617, 492, 3380", "march 3rd 1962", "412 maple street") and keeps, for
every character of the result, where it came from, so one set of patterns serves the spoken and
the written forms and every finding is a span of the original text. ``spoken_findings`` runs
those patterns, each with the context words that make a bare number an identifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9}
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
             "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
             "nineteenth": 19, "twentieth": 20, "thirtieth": 30}
_SCALES = {"hundred": 100, "thousand": 1000}
_REPEAT = {"double": 2, "triple": 3}
_NUMBER_WORDS = set(_UNITS) | set(_TEENS) | set(_TENS) | set(_ORDINALS) | set(_SCALES) | set(_REPEAT) | {"and"}
# A run of number words (and digits) joined by spaces or hyphens; commas and full stops end a run,
# so "six one seven, four nine two" stays three groups as the speaker said them.
_WORD = re.compile(r"[A-Za-z]+|\d+")


@dataclass(frozen=True)
class Normalised:
    text: str
    starts: list[int]  # for each character of ``text``, the original offset it begins at
    ends: list[int]  # ... and the original offset it ends at

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        return self.starts[start], self.ends[end - 1]


def _scaled(current: int | None, word: str) -> int | None:
    """``current`` after "hundred" or "thousand"; None where English does not say it so."""
    if word == "hundred":
        if current is None:
            return 100
        if current >= 1000 and current % 1000 < 10:
            return current + current % 1000 * 99  # "two thousand four hundred"
        return current * 100 if current < 100 else None
    return None if current is None or current >= 1000 else current * 1000


def _value(words: list[str]) -> str | None:
    """Digits for one run of number words: cardinals are built where English builds them
    ("twenty six" 26, "one hundred twelve" 112, "two thousand nine" 2009) and concatenated
    where a speaker reads digits or pairs ("six one seven" 617, "nineteen sixty two" 1962)."""
    groups: list[int] = []
    current: int | None = None
    tens_open = after_scale = False  # "twenty" waits for a unit; "hundred" for tens or units
    repeat, suffix = 1, ""

    def flush() -> None:
        nonlocal current
        if current is not None:
            groups.append(current)
        current = None

    for w in words:
        if w == "and":
            continue
        if w in _REPEAT:
            repeat = _REPEAT[w]
            continue
        if w in ("hundred", "thousand"):
            current = _scaled(current, w)
            if current is None:
                return None
            tens_open, after_scale = False, True
            continue
        if w.isdigit():
            flush()
            groups.append(int(w)) if not w.startswith("0") else groups.extend(int(c) for c in w)
            tens_open = after_scale = False
            continue
        n = _ORDINALS.get(w, _UNITS.get(w, _TEENS.get(w, _TENS.get(w))))
        if n is None:
            return None
        if w in _ORDINALS:
            suffix = "th"
        if current is not None and n < 10 and (tens_open or (after_scale and current % 10 == 0)):
            current += n
            tens_open = after_scale = False
        elif current is not None and after_scale and n < 100:
            current += n
            tens_open, after_scale = n >= 20 and n % 10 == 0, False
        else:
            flush()
            for _ in range(repeat - 1):
                groups.append(n)
            repeat = 1
            current = n
            tens_open, after_scale = n >= 20 and n % 10 == 0, False
    flush()
    if not groups:
        return None
    return "".join(map(str, groups)) + suffix


def normalise(text: str) -> Normalised:
    """``text`` with every run of two or more number words (or one that is not a common word
    used otherwise: "twelve", "sixty") written in digits, and the map back to the original."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    tokens = list(_WORD.finditer(text))
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and tokens[j].group(0).lower() in _NUMBER_WORDS | {"-"} or (
                j < len(tokens) and j > i and tokens[j].group(0).isdigit()):
            if j > i and not _joined(text[tokens[j - 1].end():tokens[j].start()]):
                break
            if j > i and tokens[j - 1].group(0).lower() in _ORDINALS:
                break
            j += 1
        while j > i and tokens[j - 1].group(0).lower() in ("and", "double", "triple"):
            j -= 1
        words = [t.group(0).lower() for t in tokens[i:j]]
        value = _value(words) if words and tokens[i].group(0).lower() != "and" and (
            len(words) > 1 or words[0] not in ("oh", "o")) and (
            len(words) > 1 or words[0] not in ("one", "second")) else None
        if value is None:
            i = max(j, i + 1)
            continue
        start, end = tokens[i].start(), tokens[j - 1].end()
        for k in range(pos, start):
            out.append(text[k]), starts.append(k), ends.append(k + 1)
        for ch in value:
            out.append(ch), starts.append(start), ends.append(end)
        pos, i = end, j
    for k in range(pos, len(text)):
        out.append(text[k]), starts.append(k), ends.append(k + 1)
    return Normalised("".join(out), starts, ends)


def _joined(gap: str) -> bool:
    return gap in (" ", "-", "  ") or (gap.strip() == "" and "\n" not in gap and len(gap) <= 3)


# Patterns over the normalised text; each is (entity type, regex, score, context words that must
# occur within ``_WINDOW`` characters before the match, or None when the shape alone is enough).
_WINDOW = 60
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (rf"(?:\b\d{{1,2}}[/.\- ]\d{{1,2}}[/.\- ](?:\d{{4}}|\d{{2}})\b|\b{_MONTH}\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?"
         rf"(?:\s+of)?\s*,?\s+\d{{4}}\b|\b(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\s*,?\s+\d{{4}}\b"
         rf"|\b\d{{4}}-\d{{2}}-\d{{2}}\b)")
_STREET = (r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|"
           r"circle|parkway|pkwy|highway|hwy|square|sq|crescent|close)")
_SEP = r"(?:[ ,.\-]{1,3}|\s+(?:dash|hyphen)\s+)"
_UNIT_AFTER = (r"(?!\s*(?:%|percent|mg|milligrams?|mcg|ml|units?|pounds?|lbs?|kilos?|kg|weeks?|days?|months?|"
               r"minutes?|hours?|times|feet|foot|inches|miles?|degrees?|over|out of|/))")
_TLD = r"(?:com|org|net|edu|gov|io|co|us|uk|ca|de|fr|au|in|info|biz|me|mail)"
_SPOKEN = [
    ("PHONE_NUMBER", rf"(?<![\d-])(?:\+?1{_SEP})?\(?\d{{3}}\)?{_SEP}\d{{3}}{_SEP}\d{{4}}(?![\d-])", 0.6,
     None),
    ("PHONE_NUMBER", r"(?<![\d-])\d{10}(?![\d-])", 0.6,
     ("phone", "number", "call", "cell", "mobile", "reach", "contact", "text me", "fax")),
    ("US_SSN", rf"(?<![\d-])\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{4}}(?![\d-])", 0.7, None),
    ("US_SSN", r"(?<![\d-])\d{9}(?![\d-])", 0.7, ("social", "ssn", "security")),
    ("DATE_OF_BIRTH", rf"(?i){_DATE}", 0.7, ("born", "birth", "dob", "d.o.b", "birthday", "birthdate")),
    ("AGE", rf"(?i)\b(?:i'?m|i am|she'?s|he'?s|she is|he is|they are|turned|turning|age is|aged?|age of)\s+"
            rf"(?:about\s+|almost\s+|only\s+|just\s+)?(?P<v>\d{{1,3}})\b(?:\s*(?:years?|yrs?)(?:[- ]old)?)?{_UNIT_AFTER}",
     0.45, None),
    ("AGE", r"(?i)\b\d{1,3}[- ](?:year|yr|month)s?[- ]old\b", 0.45, None),
    ("MEDICAL_RECORD_NUMBER", r"\b(?:[A-Z]{1,3}[ -]?)?\d(?:[\d -]{3,20})\d\b", 0.6,
     ("mrn", "medical record", "record number", "record no", "chart number", "account", "acct", "member",
      "policy", "insurance id", "patient id", "subscriber", "id number", "member id", "case number")),
    ("STREET_ADDRESS", rf"(?i)\b\d{{1,6}}\s+(?:[a-z0-9.'-]+\s+){{0,3}}{_STREET}\b\.?"
                       r"(?:\s*,?\s*(?:apt|apartment|suite|ste|unit|#)\.?\s*[\w-]+)?", 0.9, None),
    ("EMAIL_ADDRESS", rf"(?i)\b[a-z0-9]+(?:\s+(?:dot|underscore|dash|hyphen)\s+[a-z0-9]+)*\s+at\s+"
                      rf"[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)*\s+dot\s+{_TLD}\b", 0.8, None),
]
_COMPILED = [(t, re.compile(p), s, c) for t, p, s, c in _SPOKEN]


@dataclass(frozen=True)
class SpokenFinding:
    entity_type: str
    start: int
    end: int
    score: float


def spoken_findings(text: str) -> list[SpokenFinding]:
    """Identifiers in ``text`` written in words or digits, as spans of ``text``; only the values
    that needed the normaliser or a context rule Presidio's recognizers lack."""
    norm = normalise(text)
    lower = norm.text.lower()
    found = []
    for entity_type, regex, score, context in _COMPILED:
        for m in regex.finditer(norm.text):
            if context and not any(c in lower[max(0, m.start() - _WINDOW):m.start()] for c in context):
                continue
            if entity_type == "MEDICAL_RECORD_NUMBER" and sum(ch.isdigit() for ch in m.group(0)) < 5:
                continue
            group = "v" if "v" in regex.groupindex else 0  # the value alone, not its cue ("I'm")
            start, end = norm.span(m.start(group), m.end(group))
            found.append(SpokenFinding(entity_type, start, end, score))
    return found
