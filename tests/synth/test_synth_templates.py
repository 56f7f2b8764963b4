"""Synthesis beyond QA: the bundled summary / extraction / classification templates and a user's
template file, few-shot seeds from approved examples, PII findings on generated outputs, near-dup
removal of new examples, and `kill -9` mid-run: the re-run yields the same examples and each
paid request is counted once. Real CLI, real contractnli NDAs, the local OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from conftest import make_env, query, run_curator, run_json
from openai_server import last_user_message, openai_server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

LEAKED_PHONE = "415-555-0199"


def passage(body: dict) -> str:
    return last_user_message(body).split("<passage>\n", 1)[1].rsplit("\n</passage>", 1)[0]


def fields_asked(body: dict) -> set[str]:
    return set(body["response_format"]["json_schema"]["schema"]["properties"])


def respond(body: dict) -> str:
    """A well-behaved model: answers every template's fields from the passage it was sent."""
    words = passage(body).split()
    quote = " ".join(words[3:15])
    asked = fields_asked(body)
    if "label" in asked:
        label = "confidentiality" if "onfidential" in passage(body) else "other"
        return json.dumps({"label": label, "evidence_quote": quote})
    if "summary" in asked:
        return json.dumps({"summary": "The passage says: " + " ".join(words[:25]), "evidence_quote": quote})
    if "instruction" in asked:
        return json.dumps({"instruction": "List the obligations stated.", "answer": " ".join(words[5:18]),
                           "evidence_quote": quote})
    return json.dumps({"question": f"What does the passage say about {' '.join(words[:4])}?",
                       "answer": " ".join(words[:20]), "evidence_quote": quote})


@pytest.fixture
def ndas(shared_data, tmp_path):
    docs = json.loads((shared_data / "contractnli" / "dev.json").read_text(encoding="utf-8"))["documents"][:3]
    path = tmp_path / "ndas.json"
    path.write_text(json.dumps({"documents": docs}), encoding="utf-8")
    return path


def server_env(root, server, **extra) -> dict:
    return make_env(root, CURATOR_OPENAI_BASE_URL=server.base_url, CURATOR_OPENAI_API_KEY="test-key",
                    CURATOR_MODEL="gpt-4o-mini", CURATOR_MAX_RETRIES="1", CURATOR_REQUEST_TIMEOUT="10", **extra)


@pytest.fixture
def env(tmp_path, openai_server, ndas):
    openai_server.respond = respond
    env = server_env(tmp_path, openai_server)
    run_curator(["ingest", str(ndas), "--source", "contractnli"], env)
    return env



def test_each_bundled_template_yields_grounded_examples_of_its_shape(env, openai_server):
    for template in ("summary", "extraction", "classification"):
        report = run_json(["candidates", "synthesize", "--template", template, "--limit", "1"], env)
        assert report["examples_added"] > 0 and not report["failures"], (template, report)
        body = openai_server.requests[-1].body
        assert body["response_format"]["type"] == "json_schema"
    rows = query(env, "SELECT e.source_format, e.messages, e.span_start, e.span_end, e.metadata, d.text "
                      "FROM examples e JOIN documents d ON d.id = e.document_id WHERE e.kind = 'synthetic'")
    shapes = {fmt for fmt, *_ in rows}
    assert shapes == {"summary", "extraction", "classification"}
    labels = json.loads(open_template("classification"))["labels"]
    for fmt, messages, start, end, metadata, text in rows:
        user, assistant = (m["content"] for m in json.loads(messages))
        assert text[start:end] == json.loads(metadata)["evidence_quote"]
        assert assistant.strip()
        if fmt == "summary":
            assert user.startswith("Summarise this passage.") and assistant.startswith("The passage says:")
        if fmt == "extraction":
            assert user.startswith("List the obligations stated.")
        if fmt == "classification":
            assert assistant in labels
            assert text[start:end] in user, "the classified passage is the example's input"


def open_template(name: str) -> str:
    from curator.synth.templates import TEMPLATES_DIR

    return (TEMPLATES_DIR / f"{name}.json").read_text()


def test_a_label_outside_the_template_is_a_schema_failure(env, openai_server):
    openai_server.respond = lambda body: json.dumps({"label": "weather", "evidence_quote": passage(body)[:40]})
    report = run_json(["candidates", "synthesize", "--template", "classification", "--limit", "1"], env)
    assert report["examples_added"] == 0 and set(report["failures"]) == {"schema_mismatch"}
    reasons = query(env, "SELECT reason FROM generation_failures")
    assert all("label" in reason for (reason,) in reasons)


def test_template_file_is_validated_and_versioned_by_hash(env, openai_server, tmp_path):
    spec = json.loads(open_template("qa"))
    spec["name"] = "faq"
    good = tmp_path / "faq.json"
    good.write_text(json.dumps(spec))
    report = run_json(["candidates", "synthesize", "--template", str(good), "--limit", "1"], env)
    assert report["template"] == "faq" and report["examples_added"] > 0
    spec["grounding"] = "citation"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(spec))
    proc = run_curator(["candidates", "synthesize", "--template", str(bad)], env, check=False)
    assert proc.returncode == 1 and str(bad) in proc.stderr and "grounding" in proc.stderr
    spec = json.loads(open_template("qa")) | {"temperature": 2}
    bad.write_text(json.dumps(spec))
    proc = run_curator(["candidates", "synthesize", "--template", str(bad)], env, check=False)
    assert proc.returncode == 1 and "temperature" in proc.stderr and "Extra inputs" in proc.stderr


def test_approved_examples_become_few_shot_seeds(env, openai_server):
    first = run_json(["candidates", "synthesize", "--limit", "1"], env)
    assert first["seed_examples"] == []
    assert all("reviewers approved" not in r.body["messages"][0]["content"] for r in openai_server.requests)
    conn = duckdb.connect(env["CURATOR_DB"])
    seed_id, messages = conn.execute("SELECT id, messages FROM examples ORDER BY id LIMIT 1").fetchall()[0]
    conn.execute("UPDATE examples SET status = 'approved' WHERE id = ?", [seed_id])
    conn.close()
    openai_server.reset()
    second = run_json(["candidates", "synthesize", "--limit", "1"], env)
    assert second["seed_examples"] == [seed_id]
    answer = json.loads(messages)[1]["content"]
    # The seed leaves under the redact policy too: its personal data is replaced, the rest is sent.
    from curator.synth.pii import REDACT_THRESHOLD, scan

    pieces, at = [], 0
    for f in sorted(scan(answer, REDACT_THRESHOLD), key=lambda f: f.start):
        pieces.append(answer[at:f.start])
        at = max(at, f.end)
    kept = max([*pieces, answer[at:]], key=len).strip()
    assert len(kept) > 20 and openai_server.requests and all(kept in r.body["messages"][0]["content"]
                                                             for r in openai_server.requests)


def test_pii_in_generated_outputs_is_stored_for_the_reviewer(env, openai_server):
    def leaky(body: dict) -> str:
        answer = json.loads(respond(body))
        answer["answer"] += f" Call {LEAKED_PHONE} for details."
        return json.dumps(answer)

    openai_server.respond = leaky
    report = run_json(["candidates", "synthesize", "--limit", "1"], env)
    assert report["outputs_with_pii"] == report["examples_added"] > 0
    for messages, findings in query(env, "SELECT messages, pii_findings FROM examples"):
        found = [f for f in json.loads(findings) if f["type"] == "PHONE_NUMBER"]
        assert found and found[0]["role"] == "assistant"
        content = json.loads(messages)[found[0]["message"]]["content"]
        assert content[found[0]["start"]:found[0]["end"]] == LEAKED_PHONE


def test_near_duplicate_outputs_are_marked_before_review(env, openai_server):
    """The model says nearly the same thing about every chunk: one example is kept."""
    boiler = ("This agreement protects confidential information shared between the parties and sets "
              "out how the receiving party must keep it secret, return it and never disclose it ")

    def same(body: dict) -> str:
        words = passage(body).split()
        return json.dumps({"question": "What does this agreement protect?",
                           "answer": boiler + words[0], "evidence_quote": " ".join(words[3:12])})

    openai_server.respond = same
    report = run_json(["candidates", "synthesize"], env)
    assert report["examples_added"] >= 3
    kept = query(env, "SELECT count(*) FROM example_dedup WHERE NOT is_duplicate")[0][0]
    assert report["near_duplicates"] > 0 and kept == report["examples_added"] - report["near_duplicates"]


def test_kill_9_mid_run_then_rerun_matches_an_uninterrupted_run(env, openai_server, tmp_path, ndas):
    # the uninterrupted reference, in a store of its own
    control = server_env(tmp_path / "control", openai_server)
    run_curator(["ingest", str(ndas), "--source", "contractnli"], control)
    reference = run_json(["candidates", "synthesize", "--n-per-chunk", "2"], control)
    assert reference["examples_added"] > 4
    openai_server.reset()

    openai_server.latency = 0.25
    killed_env = {**env, "CURATOR_CONCURRENCY": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "curator", "candidates", "synthesize", "--n-per-chunk", "2"],
                            env=killed_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while sum(r.status == 200 for r in openai_server.requests) < reference["requests"] // 2:
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    received_before = len(openai_server.requests)
    openai_server.latency = 0.0

    resumed = run_json(["candidates", "synthesize", "--n-per-chunk", "2"], env)
    assert resumed["cache_hits"] > 0 and resumed["sent"] < reference["requests"]
    assert resumed["sent"] + resumed["cache_hits"] == reference["requests"]
    assert len(openai_server.requests) - received_before == resumed["sent"]

    def examples(e: dict) -> list[tuple]:
        return query(e, "SELECT origin, messages::VARCHAR, span_start, span_end FROM examples ORDER BY origin")

    assert examples(env) == examples(control)
    cost = "SELECT round(sum(cost_usd), 9), sum(prompt_tokens), sum(completion_tokens) FROM generation_runs"
    cached = "SELECT round(sum(cost_usd), 9), sum(prompt_tokens), sum(completion_tokens) FROM llm_cache"
    assert query(env, cost) == query(env, cached) == query(control, cost)
    statuses = query(env, "SELECT status, cost_usd > 0 FROM generation_runs ORDER BY id")
    assert statuses == [("failed", True), ("finished", True)], "the killed run is closed with what it paid"
