"""PII policy against planted truth: identifiers planted into a real NDA from contractnli."""

import json
import os
import re
import subprocess
import sys

import pytest

from curator.errors import InputError
from curator.synth import pii

PLANTED = {
    "jane.doe@example-legal.com": "EMAIL_ADDRESS",
    "212-555-0147": "PHONE_NUMBER",
    "4111 1111 1111 1111": "CREDIT_CARD",
    "536-22-8217": "US_SSN",
    "192.168.10.25": "IP_ADDRESS",
    "GB82 WEST 1234 5698 7654 32": "IBAN_CODE",
}
SENTENCES = [
    "Notices to the Receiving Party go by email to jane.doe@example-legal.com.",
    "Questions may be directed by phone to 212-555-0147.",
    "Fees are charged to the credit card 4111 1111 1111 1111.",
    "The signatory's social security number is 536-22-8217.",
    "Access is permitted only from the ip address 192.168.10.25.",
    "Payments go to IBAN GB82 WEST 1234 5698 7654 32.",
    "A copy of every notice goes to jane.doe@example-legal.com as well.",
]


NER_TYPES = ("PERSON", "LOCATION", "NRP")  # statistical NER may also tag words of the planted sentences


def patterns(findings) -> list:
    return [f for f in findings if f.entity_type not in NER_TYPES]


@pytest.fixture(scope="module")
def nda_text(shared_data) -> str:
    """The first ~4,000 characters of a contractnli NDA in which no detector finds anything (found
    once per module: each candidate costs a full scan)."""
    docs = json.loads((shared_data / "contractnli" / "dev.json").read_text())["documents"]
    for doc in docs:
        text = doc["text"][:4000]
        if text.count("\n") >= len(SENTENCES) and not pii.scan(text):
            return text
    pytest.fail("no contractnli dev document is free of PII findings")


@pytest.fixture
def planted(nda_text: str) -> str:
    """The NDA with one planted sentence appended to each of its first paragraphs."""
    lines = nda_text.split("\n")
    for i, sentence in enumerate(SENTENCES):
        lines[i] = f"{lines[i]} {sentence}"
    return "\n".join(lines)


def test_card_numbers_must_pass_the_luhn_check(nda_text):
    """The planted card number is a valid one: the recognizer checks the checksum, so the same
    number with its last digit changed is not reported as a card."""
    cards = {number: [f.text for f in pii.scan(f"{nda_text} Fees are charged to the credit card {number}.")
                      if f.entity_type == "CREDIT_CARD"]
             for number in ("4111 1111 1111 1111", "4111 1111 1111 1112")}
    assert cards == {"4111 1111 1111 1111": ["4111 1111 1111 1111"], "4111 1111 1111 1112": []}


def test_scan_finds_every_planted_identifier(planted):
    found = {(f.text, f.entity_type) for f in pii.scan(planted)}
    for value, entity_type in PLANTED.items():
        assert (value, entity_type) in found, f"{entity_type} {value!r} not found"
    for f in pii.scan(planted):
        assert planted[f.start : f.end] == f.text
    for f in patterns(pii.scan(planted)):
        assert f.text in PLANTED  # no pattern flags anything else in the NDA


def test_scan_resolves_overlaps(planted):
    findings = pii.scan(planted)
    for a, b in zip(findings, findings[1:]):
        assert a.end <= b.start
    # The phone recognizer also matches the SSN and the IP; the better-scored type wins.
    assert [f.entity_type for f in findings if f.text == "536-22-8217"] == ["US_SSN"]
    assert [f.entity_type for f in findings if f.text == "192.168.10.25"] == ["IP_ADDRESS"]


def test_redact_removes_every_value_with_consistent_placeholders(planted):
    result = pii.apply_policy(planted, "redact", None)
    sent = result.text_to_send
    assert result.blocked_reason is None
    for value in PLANTED:
        assert value not in sent
    tags = [t for t in re.findall(r"<[A-Z_]+_\d+>", sent) if not t.startswith(tuple(f"<{n}_" for n in NER_TYPES))]
    assert tags.count("<EMAIL_ADDRESS_1>") == 2  # the same address twice: one placeholder
    assert {"<PHONE_NUMBER_1>", "<CREDIT_CARD_1>", "<US_SSN_1>", "<IP_ADDRESS_1>",
            "<IBAN_CODE_1>"} <= set(tags)
    assert len(tags) == 7
    assert result.mapping.restore(sent) == planted


def test_one_redactor_keeps_placeholders_across_chunks(planted):
    # The first chunk holds the first e-mail, phone and card; the second the rest and the e-mail
    # again, plus a second address.
    half = [i for i, c in enumerate(planted) if c == "\n"][3]
    first, second = planted[:half], planted[half:] + " Or write to john.roe@example-legal.com."
    redactor = pii.Redactor()
    one = pii.apply_policy(first, "redact", redactor)
    two = pii.apply_policy(second, "redact", redactor)
    assert one.mapping is redactor and two.mapping is redactor
    assert "<EMAIL_ADDRESS_1>" in one.text_to_send
    assert "<EMAIL_ADDRESS_1>" in two.text_to_send  # same value in the other chunk
    assert "<EMAIL_ADDRESS_2>" in two.text_to_send  # a new value gets the next number
    assert redactor.restore(one.text_to_send) == first
    assert redactor.restore(two.text_to_send) == second


def test_restore_puts_values_back_in_model_output(planted):
    redactor = pii.apply_policy(planted, "redact", None).mapping
    output = "Send the notice to <EMAIL_ADDRESS_1> and call <PHONE_NUMBER_1>; ignore <PERSON_9>."
    assert redactor.restore(output) == (
        "Send the notice to jane.doe@example-legal.com and call 212-555-0147; ignore <PERSON_9>.")


def test_block_sends_nothing_and_names_the_entity_types(planted):
    result = pii.apply_policy(planted, "block", None)
    assert result.text_to_send is None
    for entity_type in set(PLANTED.values()):
        assert entity_type in result.blocked_reason
    assert "EMAIL_ADDRESS x2" in result.blocked_reason
    assert len(patterns(result.findings)) == 7


def test_allow_sends_text_unchanged_and_still_reports(planted):
    result = pii.apply_policy(planted, "allow", None)
    assert result.text_to_send == planted
    assert result.blocked_reason is None
    assert {f.entity_type for f in patterns(result.findings)} == set(PLANTED.values())


def test_clean_text_passes_every_policy_unchanged(nda_text):
    for policy in pii.POLICIES:
        result = pii.apply_policy(nda_text, policy, None)
        assert result.text_to_send == nda_text
        assert result.findings == []


def test_clause_numbers_are_not_ip_addresses():
    text = "Information that:\n1.1.1.1 was in the public domain;\n1.1.1.2 was known."
    assert pii.scan(text) == []
    assert [f.text for f in pii.scan("The server has ip 10.0.0.1 on the LAN.")] == ["10.0.0.1"]


def test_generated_output_is_scanned_too():
    output = "Sure: the contact is jane.doe@example-legal.com, SSN 536-22-8217."
    assert {f.entity_type for f in pii.scan(output)} == {"EMAIL_ADDRESS", "US_SSN"}
    assert pii.scan("<EMAIL_ADDRESS_1> will be notified.") == []


def test_unknown_policy_is_refused():
    with pytest.raises(InputError, match="block, redact, allow"):
        pii.apply_policy("text", "send", None)


def test_active_detectors_lists_pattern_recognizers_and_ner_only_if_installed():
    active = pii.active_detectors()
    for name in ("EmailRecognizer", "PhoneRecognizer", "CreditCardRecognizer", "UsSsnRecognizer",
                 "IpRecognizer", "IbanRecognizer"):
        assert name in active
    ner = [name for name in active if name.startswith("SpacyRecognizer")]
    model = pii.installed_spacy_model()
    assert ner == ([f"SpacyRecognizer({model})"] if model else [])


OFFLINE = """
import json, socket
def refuse(*args, **kwargs):
    raise OSError("network use attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from curator.synth import pii
findings = pii.scan("Mail jane.doe@example-legal.com or card 4111 1111 1111 1111.")
print(json.dumps([f.entity_type for f in findings]))
"""


def test_analyzer_runs_offline():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", OFFLINE], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "network use attempted" not in done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["EMAIL_ADDRESS", "CREDIT_CARD"]


@pytest.fixture
def ner_pipeline(tmp_path, monkeypatch):
    """A tiny spaCy pipeline on disk (an entity ruler, no download) standing in for an installed
    NER model such as en_core_web_lg."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Jane Doe"},
                        {"label": "GPE", "pattern": "Geneva"}])
    path = tmp_path / "ner_model"
    nlp.to_disk(path)
    monkeypatch.setattr(pii, "installed_spacy_model", lambda: str(path))
    pii._analyzer.cache_clear()
    yield str(path)
    pii._analyzer.cache_clear()


def test_an_installed_ner_model_adds_person_and_location(ner_pipeline):
    assert f"SpacyRecognizer({ner_pipeline})" in pii.active_detectors()
    text = "Jane Doe signs in Geneva; write to jane.doe@example-legal.com."
    result = pii.apply_policy(text, "redact", None)
    assert result.text_to_send == "<PERSON_1> signs in <LOCATION_1>; write to <EMAIL_ADDRESS_1>."
    assert result.mapping.restore(result.text_to_send) == text
