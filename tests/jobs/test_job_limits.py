"""Jobs under the second probe's load (issue 29 D5, D6), against the real service on 127.0.0.1:
event streams wait without a thread each and are capped per key and in all; a job is its
owner's (a steward neither sees an admin's parameters nor cancels the job); a judge whose model
never answers still stops on cancel, and the job behind it runs; a budget that cannot pay for
one request is refused before anything is read."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import httpx
import orjson
import pytest

import service_fixture
from conftest import make_env, run_curator, run_json
from openai_server import OpenAIServer

pytestmark = pytest.mark.slow  # a served store, a model server and 60 open streams

KEYS = {"admin": "admin", "steward": "steward", "steward-2": "steward", "steward-3": "steward",
        "steward-4": "steward"}
PER_KEY, TOTAL = 15, 60
SAFETY = 300  # a deadline against a hang, not a speed check


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A store with examples that passed dedup, served with a model that never answers (latency of
    an hour): a judge job stays running until it is cancelled."""
    model = OpenAIServer(latency=3600).start()
    root = tmp_path_factory.mktemp("job-limits")
    env = make_env(root, CURATOR_OPENAI_BASE_URL=model.base_url, CURATOR_OPENAI_API_KEY="test-key",
                   CURATOR_MODEL="gpt-4o-mini", CURATOR_MAX_RETRIES="0", CURATOR_REQUEST_TIMEOUT="7200",
                   CURATOR_PII_POLICY="allow", CURATOR_PRICES=json.dumps({"gpt-4o-mini": {"input": 0.15, "output": 0.6}}),
                   CURATOR_REVIEW_PULL_INTERVAL="0", CURATOR_EVENT_STREAMS=str(TOTAL),
                   CURATOR_EVENT_STREAMS_PER_KEY=str(PER_KEY))
    data = root / "examples.jsonl"
    data.write_bytes(b"".join(orjson.dumps({"instruction": f"How do I reset device {i}?",
                                            "output": f"Hold button {i} for ten seconds, then confirm."}) + b"\n"
                              for i in range(30)))
    run_curator(["ingest", str(data)], env)
    run_curator(["dedup", "--target", "examples"], env)
    keys = {name: run_json(["keys", "create", "--name", name, "--role", role], env)["key"] for name, role in KEYS.items()}
    log = root / "server.log"
    try:
        with service_fixture.start(env, log=log) as service:
            service.keys, service.model, service.env = keys, model, env
            yield service
    finally:
        model.stop()
    assert "Traceback" not in log.read_text(), log.read_text()


def _client(served, name: str) -> httpx.Client:
    return httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {served.keys[name]}"}, timeout=60)


def _running_judge(served) -> int:
    with _client(served, "admin") as admin:
        job = admin.post("/triage/judge", json={"limit": 5}, headers={"Prefer": "respond-async"}).json()
        deadline = time.monotonic() + SAFETY
        while admin.get(f"/jobs/{job['id']}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    return job["id"]


def _until(served, job_id: int, name: str = "admin") -> dict:
    deadline = time.monotonic() + SAFETY
    with _client(served, name) as client:
        while (view := client.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, view
            time.sleep(0.2)
    return view


class Stream:
    """One open `GET /jobs/{id}/events`, its first event read."""

    def __init__(self, stack: ExitStack, served, name: str, job_id: int):
        client = stack.enter_context(_client(served, name))
        self.response = stack.enter_context(client.stream("GET", f"/jobs/{job_id}/events"))
        self.status = self.response.status_code
        self.lines = self.response.iter_lines()
        self.events = [self._next()] if self.status == 200 else []

    def _next(self) -> dict | None:
        for line in self.lines:
            if line.startswith("data: "):
                return json.loads(line[6:])
        return None

    def rest(self) -> list[dict]:
        while (event := self._next()) is not None:
            self.events.append(event)
        return self.events


def test_sixty_open_streams_leave_the_service_answering_and_the_next_is_a_429(served):
    job_id = _running_judge(served)
    with ExitStack() as stack:
        streams = [Stream(stack, served, "admin", job_id) for _ in range(PER_KEY)]
        over_key = Stream(stack, served, "admin", job_id)
        assert over_key.status == 429 and "key 'admin'" in over_key.response.read().decode()
        streams += [Stream(stack, served, name, job_id) for name in ("steward", "steward-2", "steward-3")
                    for _ in range(PER_KEY)]
        assert [s.status for s in streams] == [200] * TOTAL
        over_all = Stream(stack, served, "steward-4", job_id)
        assert over_all.status == 429 and f"{TOTAL} event streams" in over_all.response.read().decode()
        assert over_all.response.headers["retry-after"]
        with _client(served, "steward-4") as other:
            for _ in range(20):  # what the probe saw take 6.5-19.5 s: each answers
                assert other.get("/health").status_code == 200
                assert other.get("/keys/me").json()["name"] == "steward-4"
                assert other.get(f"/jobs/{job_id}").json()["status"] == "running"
        # A steward's stream of the admin's job shows where it stands, not what it was asked.
        assert streams[-1].events[0]["hidden"] and streams[-1].events[0]["params"] is None
        assert streams[0].events[0]["params"] == {"template": None, "limit": 5, "max_cost_usd": None}
        with _client(served, "steward") as steward:
            assert steward.post(f"/jobs/{job_id}/cancel").status_code == 403
        with _client(served, "admin") as admin:
            assert admin.post(f"/jobs/{job_id}/cancel").status_code == 200
        ends = [s.rest()[-1] for s in streams]  # every stream gets the end, then closes
        assert {e["status"] for e in ends} == {"cancelled"}
    # Every slot came back: a new stream opens (the job ended: one event, then the stream ends).
    deadline = time.monotonic() + SAFETY
    while True:
        with ExitStack() as stack:
            again = Stream(stack, served, "steward-4", job_id)
            if again.status == 200:
                assert again.rest()[-1]["status"] == "cancelled"
                break
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_a_job_is_its_owners_and_a_cancel_stops_a_judge_whose_model_hangs(served):
    sent_before = len(served.model.requests)
    judge = _running_judge(served)
    deadline = time.monotonic() + SAFETY  # cancel only once the judge waits on its hanging model
    while len(served.model.requests) == sent_before:
        assert time.monotonic() < deadline, "the judge never reached its model"
        time.sleep(0.1)
    with _client(served, "steward") as steward, _client(served, "admin") as admin:
        mine = steward.post("/dedup", json={"target": "examples"}, headers={"Prefer": "respond-async"}).json()
        behind = steward.post("/dedup", json={"target": "documents"}, headers={"Prefer": "respond-async"}).json()
        listed = {j["id"]: j for j in steward.get("/jobs").json()}
        assert listed[judge]["kind"] == "triage.judge" and listed[judge]["status"] == "running"
        assert listed[judge]["params"] is None and listed[judge]["actor"] is None and listed[judge]["hidden"]
        assert listed[mine["id"]]["params"]["target"] == "examples" and listed[mine["id"]]["actor"] == "api:steward"
        assert steward.get(f"/jobs/{judge}").json()["params"] is None
        assert admin.get(f"/jobs/{judge}").json()["params"]["limit"] == 5
        assert {j["id"]: j for j in admin.get("/jobs").json()}[mine["id"]]["params"]["target"] == "examples"
        assert steward.post("/sql", json={"sql": "SELECT * FROM jobs"}).status_code in (400, 403)  # the table rule
        refused = steward.post(f"/jobs/{judge}/cancel")
        assert refused.status_code == 403 and "not yours" in refused.json()["detail"]
        with _client(served, "steward-2") as other:
            assert other.post(f"/jobs/{mine['id']}/cancel").status_code == 403
        assert steward.post(f"/jobs/{mine['id']}/cancel").json()["status"] == "cancelled"  # queued: never starts
        assert admin.post(f"/jobs/{judge}/cancel").status_code == 200
    ended = _until(served, judge)
    assert ended["status"] == "cancelled" and ended["error"]["type"] == "JobCancelled"
    assert _until(served, behind["id"], "steward")["status"] == "succeeded"  # the queue moved on
    assert 0 < len(served.model.requests) - sent_before <= 5

    # A budget that cannot pay for one request is refused before anything is read or sent.
    sent_before = len(served.model.requests)
    with _client(served, "admin") as admin:
        tiny = admin.post("/triage/judge", json={"max_cost_usd": 5e-324})
    assert tiny.status_code == 400 and "cannot pay for one request" in tiny.json()["detail"]
    assert len(served.model.requests) == sent_before
