"""Identifiers as people and speech recognition write them, and the issue-24 false positives:
each case is a sentence a user met in the bundled corpora or a clinician's transcript."""

from __future__ import annotations

import pytest

from curator.synth import pii
from curator.synth.pii_spoken import normalise
from curator.synth.synthesize import output_findings


@pytest.mark.parametrize("said, written", [
    ("six one seven, four nine two, three three eight zero", "617, 492, 3380"),
    ("march third nineteen sixty two", "march 3th 1962"),
    ("January tenth two thousand nine", "January 10th 2009"),
    ("four twelve maple street", "412 maple street"),
    ("I'm twenty six", "I'm 26"),
    ("eight two four, four one six, oh six four one", "824, 416, 0641"),
    ("two thousand four hundred and twelve", "2412"),
    ("i have one dog and a second one", "i have one dog and a second one"),  # lone "one" is not a number
])
def test_normalise_writes_number_words_in_digits(said, written):
    assert normalise(said).text == written


def test_normalised_spans_map_back_to_the_words():
    text = "call me on six one seven, four nine two, three three eight zero today"
    norm = normalise(text)
    at = norm.text.index("617")
    start, end = norm.span(at, norm.text.index("3380") + 4)
    assert text[start:end] == "six one seven, four nine two, three three eight zero"


def found(text: str, threshold: float = pii.REDACT_THRESHOLD) -> set[tuple[str, str]]:
    return {(f.entity_type, f.text) for f in pii.scan(text, threshold)}


def test_spoken_identifiers_are_found():
    text = ("[patient] my name is thandiwe mahlangu . i'm twenty six . i was born january tenth two thousand nine .\n"
            "[patient] my number is six one seven , four nine two , three three eight zero .\n"
            "[patient] i live at four twelve maple street , email me at t dot smith at gmail dot com .\n"
            "[patient] my medical record number is four eight two one three three seven seven .")
    assert found(text) >= {
        ("PERSON", "thandiwe mahlangu"), ("AGE", "twenty six"),
        ("DATE_OF_BIRTH", "january tenth two thousand nine"),
        ("PHONE_NUMBER", "six one seven , four nine two , three three eight zero"),
        ("STREET_ADDRESS", "four twelve maple street"), ("EMAIL_ADDRESS", "t dot smith at gmail dot com"),
        ("MEDICAL_RECORD_NUMBER", "four eight two one three three seven seven")}


def test_names_outside_census_lists_after_a_cue_and_in_capitals():
    assert ("PERSON", "Oyelaran") in found("She was seen by Dr. Oyelaran on Monday.")
    assert ("PERSON", "diane") in found("[doctor] hi diane , how are you ?")
    assert ("PERSON", "LWAZI DLAMINI") in found("Patient: LWAZI DLAMINI reports chest pain.")


@pytest.mark.parametrize("text", [
    "Please click Cancel Order on the {Website Name} page.",
    "Go to {{Order Details}} and select your {{Account Type}}.",
    "I mostly write C++ with std::vector<int>.",
    "Your order number 4532015112830366 has shipped.",
    "[patient] mm-hmm . yeah i wan na say it hurts .",
    "[patient] uh-huh , i'm gon na try .",
    "CHIEF COMPLAINT\nChest pain.",
    "He takes Lasix 40 mg daily and Norvasc for his blood pressure.",
    "History of Parkinson's disease and Crohn's disease.",
    "Blood pressure 128/82, heart rate 72, oxygen saturation 97 percent.",
    "[patient] i walk about two miles a day , three times a week .",
])
def test_traps_raise_no_finding(text):
    assert found(text, pii.FLAG_THRESHOLD) == set()


def test_a_card_number_still_is_one():
    assert ("CREDIT_CARD", "4111 1111 1111 1111") in found("Fees are charged to the credit card 4111 1111 1111 1111.")


def test_flag_point_keeps_identifiers_and_leaves_redact_only_findings_out():
    """Ages under 90 and places go to a provider redacted but do not flag an example."""
    text = "I'm twenty six and I live in San Diego; my SSN is 536-22-8217."
    assert {t for t, _ in found(text)} >= {"AGE", "US_SSN"}
    assert {t for t, _ in found(text, pii.FLAG_THRESHOLD)} == {"US_SSN"}
    assert {t for t, v in found("my grandmother is ninety three years old", pii.FLAG_THRESHOLD)
            if "ninety three" in v} == {"AGE"}


def test_output_findings_keep_their_shape():
    messages = [{"role": "user", "content": "my social is five three six, two two, eight two one seven"},
                {"role": "assistant", "content": "Noted."}]
    (finding,) = output_findings(messages)
    assert set(finding) == {"message", "role", "type", "start", "end", "score"}
    assert (finding["message"], finding["role"], finding["type"]) == (0, "user", "US_SSN")
    assert messages[0]["content"][finding["start"]:finding["end"]] == "five three six, two two, eight two one seven"
