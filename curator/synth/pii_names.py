"""Person names by context, and what is not a name whatever a model says.

Names come from every origin and casing, so no name list can find them all ("Mahlangu" is in no
US Census list). A cue can: "my name is", "Dr."/"Mrs.", "patient name:", "dear", a greeting
followed by a comma ("hi diane ,"), "X is a 54 year old". The tokens after a cue are taken as a
name while they look like one (letters, apostrophes, hyphens; no stop word, filler or -ing verb).

The other half is ``not_a_name``: statistical NER and name lists also fire on template
placeholders ("{Website Name}"), code ("C++"), ASR fillers ("mm-hmm", "wan na"), upper-case
section headers ("CHIEF COMPLAINT"), UI labels ("click Cancel Order"), eponymous diseases
("Parkinson's disease") and drugs before a dose ("Lasix 40 mg"). Each rule reads the finding's
own text and a few characters around it, never a list of names.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NAME_CHARS = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*\.?", re.UNICODE)
FILLERS = frozenset({"um", "uh", "uhm", "umm", "erm", "er", "hmm", "hm", "mm", "mhm", "mm-hmm", "mmhmm", "uh-huh",
                     "uh-uh", "huh", "ah", "oh", "okay", "ok", "yeah", "yep", "yup", "nope", "wan", "gon", "na",
                     "ta", "got", "kinda", "sorta", "gotta", "lemme", "alright", "right", "bye", "hi", "hello"})
_NOT_NAMES = frozenset({"patient", "doctor", "sir", "madam", "ma'am", "everyone", "everybody", "guys", "folks",
                        "team", "thanks", "yes", "sure", "well", "there", "again", "dear", "customer", "user",
                        "agent", "nurse", "guest", "speaker", "client", "friend", "honey", "buddy", "mom", "dad",
                        "today", "tomorrow", "tonight", "morning", "afternoon", "evening", "all", "back"})
# Words of section headers in clinical notes and contracts (never names), for upper-case lines.
_HEADER_WORDS = frozenset(
    "chief complaint history present illness assessment plan physical exam examination review systems medications "
    "allergies vitals vital signs results impression procedure findings social family surgical medical past "
    "diagnosis instructions subjective objective recommendations definitions confidentiality agreement term "
    "termination notices miscellaneous article section schedule exhibit whereas hpi ros labs laboratory imaging "
    "follow-up followup discharge summary disposition course hospital problem list patient education "
    "musculoskeletal neurological cardiovascular respiratory gastrointestinal skin psych constitutional note "
    "obligations representations warranties governing law entire remedies general recitals parties".split())
_UI_BEFORE = re.compile(r"(?i)\b(?:click|clicking|select|selecting|tap|tapping|press|choose|hit|open|under|"
                        r"navigate to|go to|find|locate)\s+(?:on\s+)?(?:the\s+)?[\"'“‘]?$")
_UI_AFTER = re.compile(r"(?i)^[\"'”’]?\s+(?:button|option|tab|section|page|menu|link|icon|field|form|settings|"
                       r"screen|feature|window|panel|bar)\b")
_EPONYM_AFTER = re.compile(r"(?i)^(?:['’]s)?\s+(?:disease|syndrome|palsy|procedure|sign|test|maneuver|manoeuvre|"
                           r"fracture|operation|score|scale|criteria|classification|reflex|tumou?r|lymphoma|ulcer|"
                           r"repair|phenomenon|contracture|sarcoma|thyroiditis|ataxia|chorea|law|principle)\b")
_DOSE_AFTER = re.compile(r"(?i)^\s*(?:\d+(?:\.\d+)?|[a-z]+(?:\s+point\s+[a-z]+)?)\s*(?:mg|mcg|milligrams?|micrograms?|"
                         r"units?|ml|cc|tablets?|pills?)\b")
_DRUG_BEFORE = re.compile(r"(?i)\b(?:taking|takes|take|took|on|prescribed|started|start|continue|increase|decrease|"
                          r"refill|dose of|stop|stopped|restart|switch(?:ed)? to)\s+(?:the\s+)?$")
_STREET_AFTER = re.compile(r"(?i)^\s+(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|court|way|place|"
                           r"terrace|circle|parkway|highway)\b")
_MODEL_TYPES = ("PERSON", "NRP", "LOCATION")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def not_a_name(text: str, entity_type: str, start: int, end: int) -> str | None:
    """Why a PERSON/NRP/LOCATION finding at ``text[start:end]`` is not one, or None."""
    if entity_type not in _MODEL_TYPES:
        return None
    value = text[start:end]
    if "\n" in value:
        return "crosses a line break"
    words = value.split()
    if not words or not all(_NAME_CHARS.fullmatch(w) for w in words):
        return "not name-shaped (code, symbols, digits)"
    if re.search(r"[{<\[]\s*$", text[max(0, start - 3):start]) or re.match(r"^\s*[}>\]]", text[end:end + 3]):
        return "inside a template placeholder"
    if text[text.rfind("\n", 0, start) + 1:start].count("`") % 2:
        return "inside a code span"
    lowered = [w.lower().strip(".") for w in words]
    if all(w in FILLERS or w in _stop_words() for w in lowered) or any(w in ("na", "ta") for w in lowered):
        return "an ASR filler"
    if "dot" in lowered or lowered[0] in _NOT_NAMES:
        return "a spoken e-mail or a role word"
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start:None if line_end < 0 else line_end]
    if line.isupper() and any(w.strip(":") in _HEADER_WORDS for w in lowered):
        return "a section header"
    before, after = text[max(0, start - 40):start], text[end:end + 40]
    if _UI_BEFORE.search(before) or _UI_AFTER.match(after):
        return "a user-interface label"
    if _EPONYM_AFTER.match(after) or (re.search(r"['’]s$", value) and len(words) == 1):
        return "an eponym (disease, sign, procedure)"
    if len(words) == 1 and (_DOSE_AFTER.match(after) or _DRUG_BEFORE.search(before)):
        return "a drug (a dose or a prescribing verb beside it)"
    if entity_type == "PERSON" and _STREET_AFTER.match(after):
        return "a street name"
    return None


_TOKEN = r"[^\W\d_][\w'’.-]*"
_STRONG = re.compile(
    r"(?i)(?:\bmy name(?:'s| is)|\bname is|\bnamed|\bpatient(?:'s)? name(?: is)?:?|\bname:|\bdear|\bsincerely,?|"
    r"\bregards,?|\bsigned:?|\bsigned by|\bmr\.?|\bmrs\.?|\bms\.?|\bmiss|\bmx\.?|\bdr\.?|\bprof\.?|\bdoctor|"
    r"\bthis is|\bspeaking with|\bspoke (?:with|to)|\bcall me)\s+")
_GREETING = re.compile(r"(?i)\b(?:hi|hello|hey|morning|thanks|thank you)\s+(" + _TOKEN + r")\s*[,.!?]")
_AGE_CUE = re.compile(r"(?i)\b(" + _TOKEN + r"(?:\s+" + _TOKEN + r")?)\s+is\s+an?\s+\d{1,3}[- ]?(?:year|yr)s?[- ]old\b")
_WEAK_AFTER = ("this is", "doctor", "speaking with", "spoke with", "spoke to", "call me")


def cued_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of names that follow a cue; ``text`` may have numbers in digits."""
    found = []
    for m in _STRONG.finditer(text):
        cue = m.group(0).strip().lower()
        span = _name_after(text, m.end())
        if span is None:
            continue
        s, e = span
        if cue.startswith(_WEAK_AFTER):
            # "this is great", "the doctor said": weak cues need a name-like follower
            follow = text[e:e + 20].lower()
            if not (text[s].isupper() or re.match(r"\s*(?:,|from|calling|speaking|here|with|at)\b", follow)):
                continue
        found.append((s, e, 0.7))
    for m in _GREETING.finditer(text):
        if _plain(m.group(1)):
            found.append((m.start(1), m.end(1), 0.6))
    for m in _AGE_CUE.finditer(text):
        words = m.group(1).split()
        while words and not _plain(words[0]):
            words = words[1:]
        if words and all(_plain(w) for w in words):
            found.append((m.end(1) - len(" ".join(words)), m.end(1), 0.6))
    return found


def _plain(word: str) -> bool:
    w = word.lower().strip(".’'")
    return bool(w) and len(w) > 1 and w not in _stop_words() and w not in FILLERS and w not in _NOT_NAMES \
        and not w.endswith("ing") and bool(re.fullmatch(_TOKEN, word))


def _name_after(text: str, at: int) -> tuple[int, int] | None:
    """Up to three name-shaped tokens from ``at`` (a middle "van", "de", "bin" may join them)."""
    words = list(re.finditer(r"\S+", text[at:at + 80]))
    end, taken = None, 0
    for k, w in enumerate(words[:4]):
        token = w.group(0).rstrip(",.;:!?)")
        joiner = token.lower() in ("van", "de", "del", "da", "von", "bin", "bint", "al", "la", "le", "di", "ibn")
        if not (_plain(token) or (joiner and taken)):
            break
        end = at + w.start() + len(token)
        taken += 1
        if token != w.group(0) or taken == 3:
            break
    return (at + words[0].start(), end) if taken else None
