"""Detectors Presidio does not ship for clinical and legal text, built from Presidio's own parts.

- Pattern recognizers (``PatternRecognizer`` with context words, so Presidio's context enhancer
  raises a weak match next to "DOB", "MRN", "account" over the 0.4 threshold): street addresses,
  dates of birth, ages, medical record / account numbers.
- ``NameRules``: person names that statistical NER misses in upper-case headings and lower-case
  ASR transcripts, from the US Census 1990 name lists shipped by the ``names`` package (MIT):
  a first name followed by a last name in any casing, a title before a name, and a first name as
  a speaker tag at a line start. Words spaCy lists as stop words ("will", "may", "can") never
  count as names, which keeps modal verbs and the like out.
"""

from __future__ import annotations

from functools import lru_cache

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (rf"(?:\b\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b"
         rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b|\b\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}\b)")
_STREET = (r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|"
           r"circle|parkway|pkwy|highway|hwy|square|sq)")


def pattern_recognizers() -> list[PatternRecognizer]:
    """Addresses, dates of birth, ages and record numbers (flags are case-insensitive)."""
    return [
        PatternRecognizer(
            "STREET_ADDRESS", name="StreetAddressRecognizer",
            patterns=[Pattern("street address", rf"(?i)\b\d{{1,6}}\s+(?:[a-z0-9.'-]+\s+){{0,4}}{_STREET}\b\.?"
                                                 r"(?:,?\s*(?:apt|apartment|suite|ste|unit|#)\.?\s*[\w-]+)?"
                                                 r"(?:,\s*[a-z][a-z .'-]{1,30})?(?:,\s*[a-z]{2}\s+\d{5}(?:-\d{4})?)?",
                              0.9)]),  # number + street suffix: stronger than NER calling "Maple Street" a person
        PatternRecognizer(
            "DATE_OF_BIRTH", name="DateOfBirthRecognizer",
            patterns=[Pattern("date", rf"(?i){_DATE}", 0.1)],  # a date alone is not personal: context needed
            context=["born", "birth", "dob", "d.o.b", "birthday", "birthdate"]),
        PatternRecognizer(
            "AGE", name="AgeRecognizer",
            patterns=[Pattern("n-year-old", r"(?i)\b\d{1,3}[- ](?:year|yr|month)s?[- ]old\b", 0.6),
                      Pattern("aged n", r"(?i)\b(?:aged?|age:)\s*\d{1,3}\b", 0.5),
                      Pattern("n yo", r"(?i)\b\d{1,3}\s?(?:yo|y/o|y\.o\.)(?!\w)", 0.5)]),
        PatternRecognizer(
            "MEDICAL_RECORD_NUMBER", name="RecordNumberRecognizer",
            patterns=[Pattern("mrn", r"(?i)\bmrn[:#\s-]*[a-z]{0,3}\d[\d-]{3,14}\b", 0.7),
                      Pattern("record or account number", r"\b[A-Z]{0,3}\d{5,12}\b", 0.1)],
            context=["mrn", "medical", "record", "chart", "account", "acct", "patient", "member", "policy"]),
    ]


@lru_cache(maxsize=1)
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names), lower-case, from the ``names`` package's Census files."""
    import names
    from spacy.lang.en.stop_words import STOP_WORDS

    def read(*keys: str) -> frozenset[str]:
        out = set()
        for key in keys:
            with open(names.FILES[key], encoding="utf-8") as f:
                out.update(line.split()[0].lower() for line in f if line.strip())
        return frozenset(w for w in out if w not in STOP_WORDS and len(w) > 1)

    return read("first:male", "first:female"), read("last")


_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "doctor", "prof", "professor", "nurse", "sister", "judge"}
_NOT_NAMES = {"patient", "doctor", "guest", "family", "speaker", "nurse", "clinician", "agent", "customer", "user"}


class NameRules(EntityRecognizer):
    """Census first + last names in any casing, titles before names, first names as speaker tags."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="NameRules(census)")

    def load(self) -> None:
        census_names()

    def analyze(self, text, entities, nlp_artifacts) -> list[RecognizerResult]:
        first, last = census_names()
        tokens = [t for t in nlp_artifacts.tokens]
        found = []
        for i, tok in enumerate(tokens):
            word = tok.lower_
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if word in first and nxt is not None and nxt.lower_ in last and nxt.is_alpha:
                found.append((tok.idx, nxt.idx + len(nxt), 0.6 if tok.is_title == nxt.is_title else 0.5))
            elif word.rstrip(".") in _TITLES and nxt is not None and nxt.is_alpha and (
                    nxt.lower_ in last or nxt.lower_ in first) and nxt.lower_ not in _NOT_NAMES:
                j = i + 1 if nxt.text != "." else i + 2
                if j < len(tokens):
                    found.append((tokens[j].idx, tokens[j].idx + len(tokens[j]), 0.6))
            elif (word in first and word not in _NOT_NAMES and nxt is not None and nxt.text == ":"
                  and (i == 0 or "\n" in tokens[i - 1].text_with_ws or "\n" in text[max(0, tok.idx - 2):tok.idx])):
                found.append((tok.idx, tok.idx + len(tok), 0.6))
        return [RecognizerResult("PERSON", s, e, score) for s, e, score in found]
