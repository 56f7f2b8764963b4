"""PII never leaves, measured: a planted-PII corpus built from the shared MTS-Dialog transcripts
and contractnli NDAs (names drawn from the Census name lists in Title, UPPER and lower-case ASR
casing, e-mails, phones, SSNs, card numbers, street addresses, dates of birth, MRNs) goes through
`curator candidates synthesize` under the default `redact` policy to the local OpenAI-compatible
server; every request it received is searched for the planted values. None of the e-mails,
phones, SSNs or card numbers and at most 5% of the names may arrive. With no person-name detector
the run is refused and the server receives nothing. Recall per type is printed (pytest -s)."""

from __future__ import annotations

import csv
import json
import random

import pytest

from conftest import run_curator, run_json
from openai_server import openai_server  # noqa: F401  (the fixture)
from openai_server import planted_store

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

N_TRANSCRIPTS, N_NDAS = 24, 6


def _luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
    return prefix + str((10 - total % 10) % 10)


def _names(rng: random.Random, n: int) -> list[tuple[str, str]]:
    import names

    def top(key: str, k: int) -> list[str]:
        with open(names.FILES[key], encoding="utf-8") as f:
            return [line.split()[0].capitalize() for line, _ in zip(f, range(k))]
    firsts, lasts = top("first:female", 800) + top("first:male", 400), top("last", 5000)
    return [(rng.choice(firsts), rng.choice(lasts)) for _ in range(n)]


def planted_corpus(shared_data, rng: random.Random) -> tuple[list[dict], list[tuple[str, str]]]:
    """Documents with planted values, and (entity type, value as written) for each."""
    with (shared_data / "mts-dialog" / "Main-Dataset" / "MTS-Dialog-ValidationSet.csv").open(encoding="utf-8") as f:
        # one paragraph per dialogue, so ingest keeps it a document (synthesis reads documents)
        dialogues = [" ".join(r["dialogue"].split("\n")) for r in csv.DictReader(f)][:N_TRANSCRIPTS]
    ndas = [d["text"][:3000] for d in json.loads((shared_data / "contractnli" / "test.json")
                                                 .read_text(encoding="utf-8"))["documents"][:N_NDAS]]
    texts = dialogues + ndas
    people = _names(rng, len(texts) * 2)
    docs, planted = [], []
    for k, text in enumerate(texts):
        casing = ("title", "upper", "lower")[k % 3]
        (f1, l1), (f2, l2) = people[2 * k], people[2 * k + 1]
        case = {"title": str, "upper": str.upper, "lower": str.lower}[casing]
        name1, name2 = case(f"{f1} {l1}"), case(f"{f2} {l2}")
        email = f"{f1.lower()}.{l1.lower()}{k}@mail-example.org"
        phone = rng.choice(["({a}) 555-01{b:02d}", "{a}-555-01{b:02d}", "{a}.555.01{b:02d}"]).format(
            a=rng.choice([212, 415, 617, 312, 713]), b=k)
        ssn = f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
        card = _luhn_complete("4" + "".join(str(rng.randint(0, 9)) for _ in range(14)))
        card = " ".join(card[i:i + 4] for i in range(0, 16, 4))
        address = f"{rng.randint(10, 9999)} {rng.choice(['Maple', 'Oak', 'Cedar', 'Pine', 'Elm'])} " \
                  f"{rng.choice(['Street', 'Avenue', 'Road', 'Lane', 'Drive'])}"
        dob = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1940, 2005)}"
        mrn = f"{rng.randint(10000000, 99999999)}"
        lines = [f"Contact {name1} at {email} or {phone}.",
                 f"Patient {name2}, date of birth {dob}, MRN: {mrn}, social security number {ssn}.",
                 f"Card on file {card}; home address {address}."]
        if casing == "lower":  # ASR style: the whole text lower-case, no punctuation help for names
            lines, text = [line.lower() for line in lines], text.lower()
            address = address.lower()
        cut = text.find(" ", len(text) // 3)
        cut = cut if cut > 0 else len(text) // 3
        docs.append({"title": f"doc {k}", "text": text[:cut] + "\n" + "\n".join(lines) + "\n" + text[cut:]})
        planted += [("PERSON", name1), ("PERSON", name2), ("EMAIL_ADDRESS", email), ("PHONE_NUMBER", phone),
                    ("US_SSN", ssn), ("CREDIT_CARD", card), ("STREET_ADDRESS", address),
                    ("DATE_OF_BIRTH", dob), ("MEDICAL_RECORD_NUMBER", mrn)]
    return docs, planted


@pytest.fixture
def corpus_env(tmp_path, shared_data, openai_server):
    docs, planted = planted_corpus(shared_data, random.Random(12))
    return planted_store(tmp_path, openai_server, docs), planted


def test_planted_pii_never_reaches_the_provider_under_redact(corpus_env, openai_server):
    env, planted = corpus_env
    report = run_json(["candidates", "synthesize", "--template", "qa"], env)
    assert report["documents"] == N_TRANSCRIPTS + N_NDAS and openai_server.requests
    sent = "\n".join(m.get("content") or "" for r in openai_server.requests for m in r.body["messages"])
    leaked: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    for kind, value in planted:
        totals[kind] = totals.get(kind, 0) + 1
        if value in sent:
            leaked.setdefault(kind, []).append(value)
    recall = {k: round(1 - len(leaked.get(k, [])) / n, 3) for k, n in sorted(totals.items())}
    print("PII recall per type (planted values kept from the provider):", json.dumps(recall))
    for kind in ("EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD"):
        assert kind not in leaked, (kind, leaked.get(kind))
    assert len(leaked.get("PERSON", [])) <= 0.05 * totals["PERSON"], leaked.get("PERSON")


def test_no_name_detector_refuses_the_run_and_sends_nothing(corpus_env, openai_server, tmp_path):
    import spacy

    env, _ = corpus_env
    blank = tmp_path / "blank_pipeline"  # a pipeline without NER: no person-name detector
    spacy.blank("en").to_disk(blank)
    proc = run_curator(["candidates", "synthesize", "--template", "qa"], {**env, "CURATOR_PII_SPACY_MODEL": str(blank)},
                       check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    message = proc.stderr.strip().splitlines()
    assert len(message) == 1 and "no person-name detector is active" in message[0]
    assert "CURATOR_PII_NER=none" in message[0] and "pip install" in message[0]
    assert openai_server.requests == []
