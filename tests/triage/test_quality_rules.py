"""Each quality rule on real shared-corpus cases it must catch and must not catch.

The rows are read from ../shared/data as the ingest would see them (CSV/JSON fields, unchanged);
each test names the row, so a failure points at a text a person can open."""

from __future__ import annotations

import csv
import json

import pytest
from pydantic import ValidationError

from curator.errors import InputError

from curator.quality.base import Sample
from curator.quality.bounds import LengthBounds, PiiPolicy
from curator.quality.config import RULES, QualityConfig
from curator.quality.language import Language
from curator.quality.repetition import Repetition
from curator.quality.run import check
from curator.quality.text_rules import EmptyResponse, Placeholders, Refusal, Truncated

csv.field_size_limit(10**8)


def _csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def bitext(shared_data) -> list[dict]:
    return _csv(shared_data / "bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv")


@pytest.fixture(scope="module")
def mts(shared_data) -> dict[str, dict]:
    return {r["ID"]: r for r in _csv(shared_data / "mts-dialog/Main-Dataset/MTS-Dialog-TrainingSet.csv")}


@pytest.fixture(scope="module")
def aci(shared_data) -> dict[str, dict]:
    return {r["encounter_id"]: r for r in _csv(shared_data / "aci-bench/challenge_data/clef_taskC_test3.csv")}


@pytest.fixture(scope="module")
def gpteacher(shared_data) -> list[dict]:
    rows = []
    for name in ("General-Instruct", "Roleplay", "Toolformer", "Codegen"):
        for path in sorted((shared_data / "gpteacher" / name).glob("*.json")):
            rows += json.loads(path.read_text(encoding="utf-8"))
    return rows


def sample(prompt: str, response: str, **kw) -> Sample:
    return Sample(1, "test", [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}], **kw)


def test_placeholders_caught_in_bitext_and_not_in_clinical_notes(bitext, mts):
    first = bitext[0]  # "how can I cancel purchase ...": {{Purchase ID Anonymized}}, {{Website Name}}
    flag = Placeholders().check(sample(first["instruction"], first["response"]))
    assert flag and flag.rule == "placeholder" and "{{Website Name}}" in flag.reason and flag.value >= 2
    caught = sum(Placeholders().check(sample(r["instruction"], r["response"])) is not None for r in bitext)
    assert caught == sum("{{" in r["response"] for r in bitext)  # every response with a slot, no other
    assert not any(Placeholders().check(sample(r["dialogue"], r["section_text"])) for r in mts.values())


def test_repetition_keeps_a_clinical_note_with_a_legitimately_repeated_line(aci):
    note = aci["D2N168"]["note"]  # the history sentence is repeated under HPI and assessment
    lines = [line.strip() for line in note.splitlines() if line.strip()]
    assert len(lines) != len(set(lines))  # the repeat is really there
    assert Repetition().check(sample(aci["D2N168"]["dialogue"], note)) is None


def test_repetition_catches_a_looping_response(bitext):
    text = bitext[0]["response"]
    looped = "\n".join([text.splitlines()[0]] * 6 + text.splitlines()[1:])  # a model stuck on its first line
    flag = Repetition().check(sample("q", looped))
    assert flag and "repeat an earlier one" in flag.reason
    words = " ".join(["please contact our customer support team for help"] * 20)
    assert Repetition().check(sample("q", words)).rule == "repetition"


def test_repetition_keeps_code_and_short_polite_prose(gpteacher, bitext):
    code = [r for r in gpteacher if "std::cout" in r["response"]]
    assert code and not any(Repetition().check(sample(r["instruction"], r["response"])) for r in code)
    assert Repetition().check(sample(bitext[313]["instruction"], bitext[313]["response"])) is None


def test_truncated_caught_mid_sentence_and_note_fields_kept(mts, aci):
    full = aci["D2N168"]["note"]
    truncated = full[:full.rfind(" the ", 0, 1500)]  # cut at a token limit, mid-sentence
    assert Truncated().check(sample("q", truncated)).rule == "truncated"
    assert Truncated().check(sample("q", full)) is None
    assert Truncated().check(sample("q", "x", metadata={"finish_reason": "length"})).value == "length"
    lists = [r["section_text"] for r in mts.values() if r["section_header"] in ("MEDICATIONS", "ALLERGY", "FAM/SOCHX")]
    kept = sum(Truncated().check(sample("q", t)) is None for t in lists)
    assert lists and kept == len(lists)


def test_refusal_caught_in_corpora_and_not_inside_code(bitext, gpteacher):
    meta = [r for r in bitext if "as an AI language model" in r["response"]]
    assert meta and all(Refusal().check(sample(r["instruction"], r["response"])) for r in meta)
    in_code = [r for r in gpteacher if 'I am an AI' in r["response"] and "(" in r["response"]
               and ("cout" in r["response"] or "console.log" in r["response"] or "println" in r["response"])]
    assert in_code and not any(Refusal().check(sample(r["instruction"], r["response"])) for r in in_code)


def test_empty_caught_and_short_clinical_answers_kept(mts):
    assert EmptyResponse().check(sample("q", "   ")).reason == "the response is empty"
    assert EmptyResponse().check(sample("q", "N/A")).rule == "empty"
    assert EmptyResponse().check(sample("q", "...")).value == 0
    nones = [r for r in mts.values() if r["section_text"].strip() == "None."]
    assert nones and not any(EmptyResponse().check(sample(r["dialogue"], r["section_text"])) for r in nones)


def test_language_flags_other_languages_and_keeps_english(bitext, mts):
    lang = Language(("en",))
    assert all(lang.check(sample("q", r["response"])) is None for r in bitext[:200])
    french = ("Je comprends à quel point il peut être frustrant d'annuler une commande. Connectez-vous à "
              "votre compte et cliquez sur le bouton d'annulation dans la section des commandes.")
    flag = lang.check(sample("q", french))
    assert flag and flag.value == "fr"
    assert Language(("en", "fr")).check(sample("q", french)) is None
    with pytest.raises(InputError, match="at least one"):
        Language(())


def test_length_bounds_per_role_in_counter_units(mts):
    row = mts["0"]
    rule = LengthBounds({"assistant": (2, 50), "user": (None, 100_000)}, lambda ts: [len(t) for t in ts], "characters")
    flag = rule.check(sample(row["dialogue"], row["section_text"]))
    assert flag.value == len(row["section_text"]) and "more than 50" in flag.reason
    assert LengthBounds({"assistant": (1, None)}, lambda ts: [len(t) for t in ts], "characters").check(
        sample("q", "ok")) is None
    with pytest.raises(InputError, match="above its maximum"):
        LengthBounds({"assistant": (10, 5)}, len, "characters")


def test_pii_policy_counts_response_findings_only():
    findings = [{"message": 1, "role": "assistant", "type": "PERSON"}, {"message": 0, "role": "user", "type": "PHONE"}]
    assert PiiPolicy(0).check(sample("q", "a", pii_findings=findings)).value == 1
    assert PiiPolicy(1).check(sample("q", "a", pii_findings=findings)) is None
    assert PiiPolicy(0).check(sample("q", "Thanks, noted.")) is None  # scanned here, and clean


def test_pii_policy_scans_an_example_never_scanned():
    """Imported and extracted examples carry no stored scan: the rule scans them rather than
    passing them unjudged, and keeps the findings on the sample (the run stores them)."""
    unscanned = sample("What is on file?", "Her social security number is 536-22-8217; call (617) 492-3380.")
    flag = PiiPolicy(0).check(unscanned)
    assert flag is not None and "PHONE_NUMBER" in flag.reason and "US_SSN" in flag.reason
    assert {f["type"] for f in unscanned.pii_findings if f["role"] == "assistant"} == {"PHONE_NUMBER", "US_SSN"}


def test_config_lists_rules_and_refuses_unknown_ones():
    assert set(QualityConfig().active) == set(RULES)
    assert QualityConfig(skip=["language"]).active == [r for r in RULES if r != "language"]
    with pytest.raises(ValidationError, match="Input should be 'empty', 'length', .* or 'pii'"):
        QualityConfig(rules=["spelling"])
    assert QualityConfig.model_json_schema()["properties"]["skip"]["items"]["enum"] == list(RULES)
    flags = check(sample("q", "{{Order Number}} is on its way"), QualityConfig().filters())
    assert [f.rule for f in flags] == ["placeholder"]
