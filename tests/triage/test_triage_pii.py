"""`curator triage filter --rule pii` judges imported examples, which no synthesis or review push
ever scanned: the run scans them once, stores the findings with the example, and flags those
whose responses carry an identifier (spoken or written); clean ones pass."""

from __future__ import annotations

import json

import orjson
import pytest

from conftest import make_env, query, run_curator, run_json

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

WITH_PII = [
    "Of course. The SSN on file is 536-22-8217.",
    "You can reach Thandiwe Mahlangu at six one seven, four nine two, three three eight zero.",
    "Her date of birth is march third nineteen sixty two.",
    "Send it to t dot smith at gmail dot com.",
]
CLEAN = [
    "Click Cancel Order on the {{Website Name}} page.",
    "Continue Lasix 40 mg daily; history of Parkinson's disease.",
    "mm-hmm . yeah i wan na try the C++ version .",
]


def test_imported_examples_are_scanned_stored_and_flagged(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"question {i}"},
                                                     {"role": "assistant", "content": answer}]}) + "\n"
                            for i, answer in enumerate(WITH_PII + CLEAN)), encoding="utf-8")
    env = make_env(tmp_path)
    run_curator(["ingest", str(path), "--source", "chat"], env)
    assert query(env, "SELECT count(*) FROM examples WHERE pii_findings IS NULL")[0][0] == len(WITH_PII + CLEAN)
    report = run_json(["triage", "filter", "--rule", "pii"], env)
    assert report["examples"] == len(WITH_PII + CLEAN) and report["by_rule"]["pii"] == len(WITH_PII)
    stored = {orjson.loads(m)[1]["content"]: orjson.loads(f)
              for m, f in query(env, "SELECT messages, pii_findings FROM examples")}
    assert all(f is not None for f in stored.values())  # every example now carries its scan
    assert {a for a, f in stored.items() if any(x["role"] == "assistant" for x in f)} == set(WITH_PII)
    again = run_json(["triage", "filter", "--rule", "pii"], env)  # the stored scan is read, same verdicts
    assert again["by_rule"]["pii"] == len(WITH_PII)
