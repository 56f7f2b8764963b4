"""The labelled set of tests/pii_truth.py (identifiers as people and ASR write them, planted into
the shared corpora beside traps; names written by hand, none from the detector's lists) against
both operating points, and the held-out half through synthesis under redact: none of its planted
identifiers reaches the local OpenAI-compatible server, while the clinical words around them do.
Figures per type: python bench/pii.py."""

from __future__ import annotations

import json

import pytest

import pii_truth
from conftest import run_json
from curator.synth import pii
from openai_server import openai_server  # noqa: F401  (the fixture)
from openai_server import planted_store

pytestmark = pytest.mark.slow  # ~370 scans of real passages, and a synthesis run: the full suite

IDENTIFIERS = ("DATE_OF_BIRTH", "EMAIL_ADDRESS", "MEDICAL_RECORD_NUMBER", "PHONE_NUMBER", "STREET_ADDRESS", "US_SSN")


@pytest.fixture(scope="module")
def units(shared_data):
    return {split: pii_truth.labelled_set(shared_data, split) for split in ("dev", "heldout")}


def test_redact_point_recall(units):
    """Provider redaction: recall first. Measured floors where the target (0.98) is not met yet:
    names without a cue in lower case, and record numbers after cues the rules lack ("policy")."""
    for split, floors in (("dev", {"PERSON": 0.85}), ("heldout", {"PERSON": 0.75, "MEDICAL_RECORD_NUMBER": 0.8})):
        result = pii_truth.evaluate(units[split], lambda t: pii.scan(t, pii.REDACT_THRESHOLD))
        for kind in IDENTIFIERS + ("AGE", "PERSON"):
            assert result[kind]["recall"] >= floors.get(kind, 0.98), (split, kind, result[kind])


def test_flag_point_precision(units):
    """Review flags and the quality rule: precision first; no place, nationality or card (the
    traps' order numbers) flags anything, and identifiers other than names flag at 0.95+."""
    for split in ("dev", "heldout"):
        result = pii_truth.evaluate(units[split], lambda t: pii.scan(t, pii.FLAG_THRESHOLD))
        for kind in ("LOCATION", "NRP", "CREDIT_CARD"):
            assert kind not in result, (split, result[kind])
        for kind in IDENTIFIERS:
            assert result[kind]["precision"] >= 0.95 and result[kind]["recall"] >= 0.8, (split, kind, result[kind])
        # real names already in the passages ("Anna Freeman" in an NDA) count as false here
        assert result["PERSON"]["precision"] >= 0.45, (split, result["PERSON"])


def test_heldout_identifiers_never_reach_the_provider_under_redact(units, tmp_path, openai_server):
    positives = [u for u in units["heldout"] if u.spans]
    docs = [{"title": f"unit {k}", "text": " ".join(u.text.split("\n"))} for k, u in enumerate(positives)]
    env = planted_store(tmp_path, openai_server, docs)
    run_json(["candidates", "synthesize", "--template", "qa"], env)
    sent = "\n".join(m.get("content") or "" for r in openai_server.requests for m in r.body["messages"]).lower()
    leaked = {}
    for unit in positives:
        (s, e, kind), = unit.spans
        if " ".join(unit.text[s:e].split()).lower() in sent:
            leaked.setdefault(kind, []).append(unit.text[s:e])
    print("leaked per type:", json.dumps({k: len(v) for k, v in leaked.items()}))
    for kind in IDENTIFIERS:
        if kind != "MEDICAL_RECORD_NUMBER":
            assert kind not in leaked, (kind, leaked[kind])
    # measured, not the target: 2 of 16 spoken record numbers after cues the rules lack ("policy
    # number") and 7 of 24 names without a cue (lower case, or a passage joined onto one line)
    assert len(leaked.get("MEDICAL_RECORD_NUMBER", [])) <= 2 and len(leaked.get("PERSON", [])) <= 7, leaked
    planted = " ".join(d["text"] for d in docs).lower()
    words = [w for w in ("blood pressure", "patient", "social security number", "medical record number", "my number is")
             if w in planted]  # the phrases the planted passages hold (their templates vary by half)
    assert len(words) >= 3, words
    for word in words:
        assert word in sent, word  # the clinical words around the identifiers still go: no blanket redaction
