"""A labelled PII evaluation set built from the shared corpora, independent of every list the
detector uses: names are written here by hand (many origins, diacritics, hyphens; none drawn from
the Census lists the name rules read), values are random, and each is written as people and
speech recognition write it (digits, or words: "six one seven, four nine two, three three eight
zero", "march third nineteen sixty two", "four twelve maple street", "t dot smith at gmail dot
com"). Each is planted as a new turn or sentence into a real passage (MTS-Dialog and ACI-bench
transcripts, bitext-support answers, contractnli NDAs, gpteacher code answers); the same passages
also carry traps: drugs, eponyms, placeholders, code, ASR fillers, headers, products, vitals.

Two disjoint halves: ``dev`` (names, templates and passages the detector was tuned on) and
``heldout`` (the others). ``evaluate`` scores any ``scan``-like function: a planted value is
found when findings of any type cover every letter and digit of it (what redaction needs); a
finding is a true positive when it overlaps a planted value, else a false positive.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

NAMES = [  # (first, last): even indices dev, odd held out
    ("Thandiwe", "Mahlangu"), ("Oluwaseun", "Adeyemi"), ("Nguyễn", "Thị Lan"), ("Siobhán", "O'Connor-Nakamura"),
    ("José", "Álvarez-Ruiz"), ("Priya", "Raghunathan"), ("Kwame", "Mensah"), ("Aigerim", "Nurlanovna"),
    ("Wojciech", "Brzęczyszczykiewicz"), ("Hiroshi", "Tanaka"), ("Fatima", "Al-Zahrani"), ("Mateus", "Oliveira"),
    ("Ngozi", "Okonkwo"), ("Sione", "Taufa"), ("Björn", "Lindqvist"), ("Wei", "Zhang"), ("Anahera", "Ngata"),
    ("Dmitri", "Volkov"), ("Chiamaka", "Eze"), ("Rahul", "Deshpande"), ("Leilani", "Kahananui"), ("Inès", "Benali"),
    ("Tenzin", "Dorje"), ("Mehmet", "Yılmaz"), ("Camille", "Dubois-Lefèvre"), ("Javier", "Quispe"),
    ("Soo-ah", "Park"), ("Yaw", "Boateng"), ("Marta", "Kowalczyk"), ("Aroha", "Te Whata"), ("Farhan", "Chowdhury"),
    ("Ekaterina", "Smirnova"), ("Kofi", "Asante"), ("Bích Ngọc", "Trần"), ("Rania", "Haddad"),
    ("Sebastián", "Pérez"), ("Lwazi", "Dlamini"), ("Niamh", "Ní Bhriain"), ("Omar", "Farouk"),
    ("Astrid", "Halvorsen"),
]
STREETS = ["maple", "juniper", "kensington", "old mill", "harbor view", "cedar ridge", "willow", "saint denis",
           "magnolia", "lakeshore"]
SUFFIXES = ["street", "avenue", "road", "lane", "drive", "court", "boulevard", "place"]
DOMAINS = [("gmail", "com"), ("outlook", "com"), ("yahoo", "co", "uk"), ("proton", "me"), ("uni-health", "org")]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]

# Sentences with a planted value {v} (or a name {n}); even indices dev, odd held out.
TEMPLATES = {
    "PERSON": ["my name is {n}", "hi {n}, how are you feeling today?", "{n} is here for a follow-up visit",
               "this is {n} calling about my bill", "I saw Dr. {last} last week", "Patient: {n}",
               "Dear {n}, thank you for reaching out", "signed by {n}, authorized representative",
               "{n} reports that the pain started on monday", "please ask for Mrs. {last} at the front desk",
               "the patient's name is {n}", "thanks {first}, that helps"],
    "PHONE_NUMBER": ["my number is {v}", "you can reach me at {v}", "the best number to call is {v}",
                     "call me back on {v} please", "my cell phone is {v}", "her daughter's number is {v}"],
    "DATE_OF_BIRTH": ["my date of birth is {v}", "I was born on {v}", "date of birth {v}", "DOB: {v}",
                      "she was born {v}", "birthday is {v}"],
    "AGE": ["I'm {v}", "she is {v} years old", "he's {v} now", "the patient is a {v} year old male",
            "I just turned {v}", "my mother is {v} years old"],
    "US_SSN": ["my social security number is {v}", "social is {v}", "SSN {v}", "the last ssn we have is {v}",
               "social security {v}", "her social security number, {v}"],
    "MEDICAL_RECORD_NUMBER": ["my medical record number is {v}", "MRN {v}", "my member id is {v}",
                              "the account number is {v}", "the chart number is {v}", "policy number {v}"],
    "STREET_ADDRESS": ["I live at {v}", "my address is {v}", "we moved to {v}", "send it to {v}",
                       "the clinic on {v}", "home address {v}"],
    "EMAIL_ADDRESS": ["email me at {v}", "my email is {v}", "you can write to {v}", "send the results to {v}",
                      "her email address is {v}", "contact {v} for questions"],
}
TRAPS = [  # no identifier in any of these; even dev, odd held out
    "He takes Lasix 40 mg daily and Norvasc for his blood pressure.", "Continue Eliquis and metformin.",
    "History of Parkinson's disease and Crohn's disease.", "Rule out Hashimoto's thyroiditis.",
    "She had a Whipple procedure in the past.", "Positive Babinski sign on the left.",
    "Status post Nissen fundoplication.", "Bell's palsy resolved.", "Click Cancel Order on the {{Website Name}} page.",
    "Go to {{Order Details}} and select {Website Name} settings.", "Your order number 4532015112830366 has shipped.",
    "Tracking number 1Z999AA10123456784 is on the way.", "I mostly write C++ with std::vector<int>.",
    "Run SELECT name FROM users WHERE id = 42; then grep -rn TODO src/ | sort.",
    "[patient] mm-hmm . yeah i wan na say it hurts .", "[patient] uh-huh , um , i'm gon na try .",
    "CHIEF COMPLAINT\nChest pain.", "HISTORY OF PRESENT ILLNESS\nThe pain is sharp.",
    "ASSESSMENT AND PLAN\nHypertension, stable.", "PHYSICAL EXAMINATION\nLungs clear.",
    "Open the Microsoft Teams app on your iPhone 14 Pro.", "Pair your Apple Watch with the Galaxy Buds.",
    "Blood pressure 128/82, heart rate 72, oxygen saturation 97 percent.", "Hemoglobin A1c was 7.2 and LDL 130.",
    "[patient] i walk about two miles a day , three times a week .", "[doctor] take twenty milligrams twice a day .",
    "[patient] the pain is like a seven out of ten .", "Temperature 98.6, respiratory rate 16.",
    "Section 4.2 of the Agreement survives for five years.", "[doctor] we'll see you back in six weeks .",
    "Press the Reset Password button.", "Use the Apple Pay option at checkout.",
]


@dataclass
class Unit:
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # planted (start, end, type)
    corpus: str = ""
    form: str = ""  # "words", "digits" or "trap"


def _words(n: int) -> str:
    ones = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
           "sixteen seventeen eighteen nineteen".split()
    tens = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
    if n < 20:
        return ones[n]
    if n < 100:
        return tens[n // 10] + ("" if n % 10 == 0 else " " + ones[n % 10])
    if n < 1000:
        return ones[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _words(n % 100))
    return _words(n // 1000) + " thousand" + ("" if n % 1000 == 0 else " " + _words(n % 1000))


def _ordinal(n: int) -> str:
    special = {1: "first", 2: "second", 3: "third", 5: "fifth", 8: "eighth", 9: "ninth", 12: "twelfth"}
    if n in special:
        return special[n]
    if n > 20 and n % 10:
        return _words(n - n % 10) + " " + _ordinal(n % 10)
    w = _words(n)
    return (w[:-1] + "ieth") if w.endswith("y") else w + "th"


def _year(y: int) -> str:
    return _words(y) if 2000 <= y < 2010 else f"{_words(y // 100)} {_words(y % 100) if y % 100 >= 10 else 'oh ' + _words(y % 100)}"


def _digits(s: str, rng: random.Random) -> str:
    return " ".join(("oh" if c == "0" and rng.random() < 0.4 else _words(int(c))) for c in s)


def value(kind: str, rng: random.Random, spoken: bool, first: str, last: str) -> str:
    """One random identifier of ``kind`` as written (digits) or said (words)."""
    if kind == "PHONE_NUMBER":
        a, b, c = f"{rng.randint(201, 989)}", f"{rng.randint(200, 999)}", f"{rng.randint(0, 9999):04d}"
        if spoken:
            tail = (f"{_words(int(c[:2]))} {_words(int(c[2:]))}" if c[0] != "0" and c[2] != "0" and rng.random() < 0.3
                    else _digits(c, rng))
            return f"{_digits(a, rng)}, {_digits(b, rng)}, {tail}"
        return rng.choice([f"{a}-{b}-{c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}"])
    if kind == "DATE_OF_BIRTH":
        y, m, d = rng.randint(1931, 2006), rng.randint(1, 12), rng.randint(1, 28)
        if spoken:
            return rng.choice([f"{MONTHS[m - 1]} {_ordinal(d)} {_year(y)}", f"the {_ordinal(d)} of {MONTHS[m - 1]} {_year(y)}"])
        return rng.choice([f"{m:02d}/{d:02d}/{y}", f"{MONTHS[m - 1].title()} {d}, {y}", f"{y}-{m:02d}-{d:02d}"])
    if kind == "AGE":
        n = rng.randint(19, 97)
        return _words(n) if spoken else str(n)
    if kind == "US_SSN":
        a, b, c = f"{rng.randint(100, 665)}", f"{rng.randint(10, 99)}", f"{rng.randint(1000, 9999)}"
        return f"{_digits(a, rng)}, {_digits(b, rng)}, {_digits(c, rng)}" if spoken else rng.choice(
            [f"{a}-{b}-{c}", f"{a} {b} {c}"])
    if kind == "MEDICAL_RECORD_NUMBER":
        n = "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(6, 9)))
        return _digits(n, rng) if spoken else rng.choice([n, f"{rng.choice(['A', 'MB', 'XK'])}{n}"])
    if kind == "STREET_ADDRESS":
        num = rng.choice([rng.randint(10, 99), rng.randint(100, 999), rng.randint(1000, 9999)])
        street = f"{rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
        if spoken:
            said = (_words(num) if num < 100 or rng.random() < 0.3 else
                    f"{_words(num // 100)} {_words(num % 100) if num % 100 >= 10 else 'oh ' + _words(num % 100)}")
            return f"{said} {street}"
        return f"{num} {street.title()}" + rng.choice(["", f", Apt {rng.randint(1, 20)}B"])
    if kind == "EMAIL_ADDRESS":
        dom = rng.choice(DOMAINS)
        user = rng.choice([f"{first[0]}.{last}", f"{first}{rng.randint(1, 99)}", f"{first}_{last[0]}"])
        user = "".join(c for c in user.lower() if c.isascii() and (c.isalnum() or c in "._"))
        if spoken:
            said = user.replace(".", " dot ").replace("_", " underscore ")
            said = " ".join(_words(int(c)) if c.isdigit() else c for c in said.split()) if any(
                c.isdigit() for c in said) else said
            return f"{said} at {' dot '.join(dom)}"
        return f"{user}@{'.'.join(dom)}"
    raise ValueError(kind)


def _passages(data: Path, split: str, rng: random.Random) -> list[tuple[str, str]]:
    """(corpus, passage) pairs from the shared corpora, a different slice for each split."""
    dev = split == "dev"
    out = []
    mts = "MTS-Dialog-TrainingSet.csv" if dev else "MTS-Dialog-ValidationSet.csv"
    with (data / "mts-dialog" / "Main-Dataset" / mts).open(encoding="utf-8") as f:
        rows = [r["dialogue"] for r in csv.DictReader(f) if 150 < len(r["dialogue"]) < 700]
    out += [("mts-dialog", t) for t in rng.sample(rows, 30)]
    aci = "train" if dev else "valid"
    with (data / "aci-bench" / "challenge_data" / f"{aci}.csv").open(encoding="utf-8") as f:
        dialogues = [r["dialogue"] for r in csv.DictReader(f)]
    with (data / "aci-bench" / "challenge_data" / f"{aci}_metadata.csv").open(encoding="utf-8") as f:
        known = {w.lower() for r in csv.DictReader(f) for k in ("patient_firstname", "patient_familyname", "doctor_name")
                 for w in (r[k] or "").split()}
    windows = []
    for d in dialogues:
        lines = d.splitlines()
        for k in range(5, len(lines) - 6, 12):
            window = "\n".join(lines[k:k + 6])
            # the metadata names the patient and doctor: windows that say them are left out
            if not set(window.replace(",", " ").replace(".", " ").split()) & known and len(window) < 900 \
                    and "year old" not in window and "years old" not in window:  # ages are not labelled
                windows.append(window)
    out += [("aci-bench", t) for t in rng.sample(windows, 30)]
    with (data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open(encoding="utf-8") as f:
        rows = [r["response"] for i, r in enumerate(csv.DictReader(f)) if i % 2 == (0 if dev else 1)]
    out += [("bitext-support", t[:600]) for t in rng.sample(rows, 30)]
    docs = json.loads((data / "contractnli" / ("dev.json" if dev else "test.json")).read_text(encoding="utf-8"))
    for doc in rng.sample(docs["documents"], 25):
        mid = doc["text"].find("\n", len(doc["text"]) // 3)
        out.append(("contractnli", doc["text"][mid + 1:mid + 500].strip()))
    code = json.loads((data / "gpteacher" / "Codegen" / "codegen-instruct.json").read_text(encoding="utf-8"))
    code = [c["response"][:500] for i, c in enumerate(code) if i % 2 == (0 if dev else 1) and "\n" in c["response"]]
    out += [("gpteacher", t) for t in rng.sample(code, 20)]
    return out


def _asr(text: str) -> str:
    return text.lower().replace(",", " ,").replace("?", " ?")


def _plant(corpus: str, passage: str, sentence: str, rng: random.Random) -> tuple[str, int]:
    """The passage with ``sentence`` added as a turn or line; returns the text and the offset of
    the sentence in it."""
    lines = passage.split("\n")
    at = rng.randint(1, max(1, len(lines) - 1))
    if corpus == "aci-bench":  # ASR style: lower-case with spaced punctuation
        line = "[patient] " + _asr(sentence) + " ."
        prefix = 10
    elif corpus == "mts-dialog":
        line, prefix = "Patient: " + sentence + ".", 9
    else:
        line, prefix = sentence[:1].upper() + sentence[1:] + ".", 0
    head = "\n".join(lines[:at]) + "\n"
    text = head + line + "\n" + "\n".join(lines[at:])
    return text, len(head) + prefix


def labelled_set(data: Path, split: str = "dev", seed: int = 24) -> list[Unit]:
    """Positive units (one planted identifier each, in digits or words) and trap units."""
    rng = random.Random(f"{seed}:{split}")
    parity = 0 if split == "dev" else 1
    names = [n for i, n in enumerate(NAMES) if i % 2 == parity]
    passages = _passages(data, split, rng)
    units: list[Unit] = []
    for kind, templates in TEMPLATES.items():
        mine = [t for i, t in enumerate(templates) if i % 2 == parity]
        for k in range(24 if kind == "PERSON" else 16):
            corpus, passage = rng.choice(passages)
            template = mine[k % len(mine)]
            first, last = rng.choice(names)
            spoken = k % 2 == 1 and kind != "PERSON"
            if kind == "PERSON":
                casing = (str, str.upper, str.lower)[k % 3]
                first, last = casing(first), casing(last)
                v = f"{first} {last}"
                sentence = template.format(n=v, first=first, last=last, age=rng.randint(20, 80))
                needle = last if "{last}" in template else first if "{n}" not in template else v
            else:
                v = value(kind, rng, spoken, first, last)
                sentence, needle = template.format(v=v), v
            text, offset = _plant(corpus, passage, sentence, rng)
            needle = _asr(needle) if corpus == "aci-bench" else needle
            at = text.lower().index(needle.lower(), offset)
            units.append(Unit(text, [(at, at + len(needle), kind)], corpus, "words" if spoken else "digits"))
    traps = [t for i, t in enumerate(TRAPS) if i % 2 == parity]
    for k in range(48):
        corpus, passage = rng.choice(passages)
        lines = passage.split("\n")
        at = rng.randint(1, max(1, len(lines) - 1))
        units.append(Unit("\n".join(lines[:at] + [traps[k % len(traps)]] + lines[at:]), [], corpus, "trap"))
    return units


def evaluate(units: list[Unit], scan: Callable[[str], list], limit: int = 5) -> dict[str, dict]:
    """Per type: planted values found (any finding type covering every letter/digit of them)
    and findings that overlap a planted value; ``scan`` returns objects with entity_type/start/end."""
    planted: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # found, total
    reported: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # true, total
    misses: dict[str, list[str]] = defaultdict(list)
    false: dict[str, list[str]] = defaultdict(list)
    for unit in units:
        findings = scan(unit.text)
        covered = set()
        for f in findings:
            covered.update(range(f.start, f.end))
            hit = any(f.start < e and s < f.end for s, e, _ in unit.spans)
            reported[f.entity_type][0] += hit
            reported[f.entity_type][1] += 1
            if not hit:
                false[f.entity_type].append(unit.text[f.start:f.end])
        for s, e, kind in unit.spans:
            ok = all(i in covered for i in range(s, e) if unit.text[i].isalnum())
            planted[kind][0] += ok
            planted[kind][1] += 1
            if not ok:
                misses[kind].append(unit.text[s:e])
    types = sorted(set(planted) | set(reported))
    return {t: {"recall": round(planted[t][0] / planted[t][1], 3) if planted[t][1] else None,
                "planted": planted[t][1],
                "precision": round(reported[t][0] / reported[t][1], 3) if reported[t][1] else None,
                "reported": reported[t][1], "misses": misses[t][:limit], "false_positives": false[t][:limit]}
            for t in types}
