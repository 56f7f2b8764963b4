"""`curator candidates synthesize` end to end: the real CLI, real contractnli NDAs, and the local
OpenAI-compatible server answering from the passage it was sent (plus one ungrounded answer)."""

from __future__ import annotations

import json

import pytest

from conftest import make_env, query, run_curator, run_json
from openai_server import UNGROUNDED, last_user_message, openai_server, respond  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

EMAIL, PHONE = "jane.doe@example-legal.com", "212-555-0147"
PLANTED = f"Notices go by email to {EMAIL} or by phone to {PHONE}.\n\n"
OFF_TEXT = "ZEBRA clause. "
@pytest.fixture
def ndas(shared_data, tmp_path):
    docs = json.loads((shared_data / "contractnli" / "dev.json").read_text(encoding="utf-8"))["documents"][:3]
    docs[0]["text"] = PLANTED + docs[0]["text"]
    docs[2]["text"] = OFF_TEXT + docs[2]["text"]
    path = tmp_path / "ndas.json"
    path.write_text(json.dumps({"documents": docs}), encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path, openai_server):
    openai_server.respond = respond
    return make_env(tmp_path, CURATOR_OPENAI_BASE_URL=openai_server.base_url, CURATOR_OPENAI_API_KEY="test-key",
                    CURATOR_MODEL="gpt-4o-mini", CURATOR_MAX_RETRIES="1", CURATOR_REQUEST_TIMEOUT="10")



def test_synthesize_grounds_records_failures_redacts_and_is_idempotent(env, ndas, openai_server):
    run_curator(["ingest", str(ndas), "--source", "contractnli"], env)

    dry = run_json(["candidates", "synthesize", "--template", "qa", "--dry-run"], env)
    assert not openai_server.requests, "--dry-run sends nothing"
    assert dry["documents"] == 3 and dry["chunks"] >= 3 and dry["requests"] == dry["chunks"]
    assert dry["estimated_prompt_tokens"] > 0 and dry["estimated_cost_usd"] > 0
    assert query(env, "SELECT count(*) FROM generation_runs") == [(0,)]

    report = run_json(["candidates", "synthesize", "--template", "qa", "--max-cost", "5"], env)
    sent = len(openai_server.requests)
    assert sent == report["sent"] == report["requests"] == dry["requests"]
    for request in openai_server.requests:  # redact: the planted values never leave
        text = json.dumps(request.body)
        assert EMAIL not in text and PHONE not in text
    assert any("<EMAIL_ADDRESS_1>" in last_user_message(r.body) for r in openai_server.requests)

    examples = query(env, "SELECT e.span_start, e.span_end, e.metadata, d.text, e.messages, e.generation_run_id "
                          "FROM examples e JOIN documents d ON d.id = e.document_id WHERE e.kind = 'synthetic'")
    assert len(examples) == report["examples_added"] > 0
    template_hash = query(env, "SELECT template_hash FROM generation_runs")[0][0]
    for start, end, metadata, text, messages, run_id in examples:
        meta = json.loads(metadata)
        assert text[start:end] == meta["evidence_quote"] and meta["template_hash"] == template_hash
        assert run_id == report["run_id"]
        assert [m["role"] for m in json.loads(messages)] == ["user", "assistant"]
    assert any(EMAIL in json.loads(m)["evidence_quote"] or PHONE in json.loads(m)["evidence_quote"]
               for _, _, m, *_ in examples), "placeholders in the quote are restored before grounding"

    failures = query(env, "SELECT code, reason, run_id FROM generation_failures")
    assert failures and all(code == "ungrounded" and UNGROUNDED[:20] in reason and run_id == report["run_id"]
                            for code, reason, run_id in failures)
    assert report["failures"] == {"ungrounded": len(failures)}
    assert len(examples) + len(failures) == sent

    again = run_json(["candidates", "synthesize", "--template", "qa"], env)
    assert len(openai_server.requests) == sent, "a re-run sends nothing"
    assert again["documents"] == 0 and again["examples_added"] == 0
    assert query(env, "SELECT count(*) FROM examples WHERE kind = 'synthetic'") == [(len(examples),)]


def test_block_policy_sends_nothing_for_a_chunk_with_pii(env, ndas, openai_server):
    run_curator(["ingest", str(ndas), "--source", "contractnli"], env)
    env = {**env, "CURATOR_PII_POLICY": "block"}
    report = run_json(["candidates", "synthesize", "--limit", "1"], env)
    assert report["documents"] == 1 and report["failures"].get("pii_blocked", 0) >= 1
    assert all(EMAIL not in json.dumps(r.body) for r in openai_server.requests)
    assert query(env, "SELECT DISTINCT code FROM generation_failures") == [("pii_blocked",)]


def test_unknown_template_is_one_line_error(env):
    proc = run_curator(["candidates", "synthesize", "--template", "nope"], env, check=False)
    assert proc.returncode == 1 and "unknown template 'nope'" in proc.stderr


def test_ground_exact_then_whitespace_normalised():
    from curator.synth.synthesize import ground

    chunk = "1. Term.\n  The  Agreement lasts\nfive years.\nThe Agreement lasts"
    assert ground("The Agreement lasts", chunk) == (len(chunk) - 19, len(chunk))  # the exact copy wins
    start, end = ground("Agreement lasts five years.", chunk)
    assert chunk[start:end] == "Agreement lasts\nfive years."
    assert ground("", chunk) is None and ground("lasts ten years", chunk) is None


def test_n_per_chunk_sends_distinct_requests(env, ndas, openai_server):
    run_curator(["ingest", str(ndas), "--source", "contractnli"], env)
    report = run_json(["candidates", "synthesize", "--limit", "1", "--n-per-chunk", "2"], env)
    assert report["requests"] == 2 * report["chunks"] == len(openai_server.requests)
    assert report["cache_hits"] == 0, "the two requests of a chunk differ, so neither is a repeat"
