"""The model-calling layer against a real local OpenAI-compatible server, through the real
``openai`` client: usage and cost, retries (429 + Retry-After, 500, timeouts), tolerant parsing,
the request cache, the budget and the concurrency limit."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from curator.config import Settings
from curator.errors import InputError
from curator.store import open_store, rows
from curator.synth.cache import payload_hash
from curator.synth.client import ChatRequest, generate
from openai_server import Fault, openai_server  # noqa: F401  (the fixture)


class Answer(BaseModel):
    answer: str


def settings_for(server, **extra) -> Settings:
    values = dict(openai_base_url=server.base_url, openai_api_key="test-key", model="gpt-4o-mini",
                  request_timeout=5.0, max_retries=3, concurrency=16,
                  prices={"gpt-4o-mini": {"input": 0.15, "output": 0.60}})
    return Settings(**{**values, **extra})


def ask(*texts: str) -> list[ChatRequest]:
    return [ChatRequest(key=f"r{i}", messages=[{"role": "system", "content": "Answer in JSON."},
                                                {"role": "user", "content": t}]) for i, t in enumerate(texts)]


@pytest.fixture
def conn(db_path):
    conn = open_store(db_path)
    yield conn
    conn.close()


def test_success_records_usage_cost_cache_and_run(conn, openai_server):
    report = generate(conn, ask("What is dedup?"), settings_for(openai_server), schema=Answer)
    (result,) = report.results
    assert result.ok and result.value == Answer(answer="echo: What is dedup?") and not result.cached
    body = openai_server.requests[0].body
    assert body["model"] == "gpt-4o-mini" and body["response_format"] == {"type": "json_object"}
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    expected = (result.prompt_tokens * 0.15 + result.completion_tokens * 0.60) / 1e6
    assert result.cost_usd == pytest.approx(expected) and report.cost_usd == pytest.approx(expected)
    (cached,) = rows(conn, "llm.cache_get", {"payload_hash": result.payload_hash})
    assert cached["prompt_tokens"] == result.prompt_tokens and cached["cost_usd"] == pytest.approx(expected)
    run = rows(conn, "llm.run_get", {"id": report.run_id})[0]
    assert run["status"] == "finished" and run["requests"] == 1 and run["cache_hits"] == 0
    assert run["base_url"] == openai_server.base_url and run["finished_at"] is not None


def test_payload_hash_is_canonical():
    a = payload_hash("m", [{"role": "user", "content": "x"}], {"temperature": 0.1, "max_tokens": 5})
    b = payload_hash("m", [{"content": "x", "role": "user"}], {"max_tokens": 5, "temperature": 0.1})
    assert a == b and a != payload_hash("m2", [{"role": "user", "content": "x"}], {"temperature": 0.1, "max_tokens": 5})


def test_429_waits_for_retry_after_then_succeeds(conn, openai_server):
    openai_server.fault("slow down", Fault("rate_limit", retry_after=1), times=1)
    report = generate(conn, ask("please slow down"), settings_for(openai_server))
    assert report.results[0].ok
    first, second = openai_server.requests
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0


def test_500_then_success(conn, openai_server):
    openai_server.fault("flaky", Fault("server_error"), times=2)
    report = generate(conn, ask("flaky one"), settings_for(openai_server))
    assert report.results[0].ok and [r.status for r in openai_server.requests] == [500, 500, 200]
    assert report.requests == 1  # retries are the client's business, not extra requests


def test_timeout_then_success(conn, openai_server):
    openai_server.fault("stuck", Fault("delay", delay=3), times=1)
    report = generate(conn, ask("stuck request"), settings_for(openai_server, request_timeout=0.5))
    assert report.results[0].ok and len(openai_server.requests) == 2


def test_retries_exhausted_is_a_typed_failure_not_an_exception(conn, openai_server):
    openai_server.fault("down", Fault("server_error"), times=10)
    report = generate(conn, ask("down for good", "fine"), settings_for(openai_server, max_retries=1))
    bad, good = report.results
    assert not bad.ok and bad.code == "http_500" and bad.reason
    assert good.ok and report.failures == {"http_500": 1}
    assert rows(conn, "llm.cache_get", {"payload_hash": bad.payload_hash}) == []  # failures are not cached


def test_malformed_json_is_a_typed_failure(conn, openai_server):
    openai_server.fault("broken", Fault("malformed"))
    report = generate(conn, ask("broken output", "good output"), settings_for(openai_server), schema=Answer)
    bad, good = report.results
    assert not bad.ok and bad.code == "invalid_json" and "no JSON object" in bad.reason
    assert good.ok and report.status == "finished" and report.failures == {"invalid_json": 1}


def test_json_in_prose_parses_and_schema_mismatch_is_reported(conn, openai_server):
    def respond(body):
        text = body["messages"][-1]["content"]
        if "prose" in text:
            return 'Sure! Here it is:\n```json\n{"answer": "forty-two"}\n```\nAnything else?'
        return json.dumps({"wrong": 1})

    openai_server.respond = respond
    report = generate(conn, ask("prose please", "mismatch"), settings_for(openai_server), schema=Answer)
    prose, mismatch = report.results
    assert prose.ok and prose.value == Answer(answer="forty-two")
    assert not mismatch.ok and mismatch.code == "schema_mismatch" and "answer" in mismatch.reason


def test_json_schema_format_is_sent(conn, openai_server):
    generate(conn, ask("schema"), settings_for(openai_server), schema=Answer, response_format="json_schema")
    fmt = openai_server.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["required"] == ["answer"]


def test_second_run_is_served_from_the_cache(conn, openai_server):
    texts = [f"question {i}" for i in range(20)]
    first = generate(conn, ask(*texts), settings_for(openai_server))
    assert first.requests == 20 and len(openai_server.requests) == 20
    second = generate(conn, ask(*texts), settings_for(openai_server))
    assert len(openai_server.requests) == 20, "the cached run must not reach the server"
    assert second.requests == 0 and second.cache_hits == 20 and second.cost_usd == 0
    assert all(r.cached and r.ok for r in second.results)
    assert [r.value for r in second.results] == [r.value for r in first.results]
    # a changed parameter is a different payload
    generate(conn, ask(texts[0]), settings_for(openai_server, temperature=0.1))
    assert len(openai_server.requests) == 21


def test_identical_payloads_in_one_run_are_sent_once(conn, openai_server):
    report = generate(conn, ask("same", "same", "same"), settings_for(openai_server))
    assert len(openai_server.requests) == 1 and report.cache_hits == 2
    assert [r.key for r in report.results] == ["r0", "r1", "r2"] and all(r.ok for r in report.results)


def test_budget_stops_new_requests(conn, openai_server):
    settings = settings_for(openai_server, concurrency=1)
    one = generate(conn, ask("budgeted X"), settings).cost_usd  # same length: same cost
    texts = [f"budgeted {i}" for i in range(10)]
    report = generate(conn, ask(*texts), settings, max_cost_usd=one * 3.5)
    assert report.requests == 4 and report.not_sent == 6 and report.status == "budget_exhausted"
    assert [r.code for r in report.results[4:]] == ["budget_exhausted"] * 6
    assert len(openai_server.requests) == 5
    run = rows(conn, "llm.run_get", {"id": report.run_id})[0]
    assert run["status"] == "budget_exhausted" and run["requests"] == 4


def test_budget_needs_a_price(conn, openai_server):
    with pytest.raises(InputError, match="price"):
        generate(conn, ask("x"), settings_for(openai_server, model="local-llama"), max_cost_usd=1.0)


def test_concurrency_limit_holds_at_the_server(conn, openai_server):
    for i in range(40):
        openai_server.fault(f"load {i} ", Fault("delay", delay=0.1))
    report = generate(conn, ask(*[f"load {i} " for i in range(40)]), settings_for(openai_server, concurrency=16))
    assert report.ok == 40
    assert openai_server.max_in_flight == 16  # reached, never passed


def test_placeholder_key_refused_in_prod():
    with pytest.raises(ValueError, match="CURATOR_OPENAI_API_KEY"):
        Settings(environment="prod", webhook_secret="s3cret")
