"""Poison webhook deliveries are set aside, never block (issue 29 D2): the real service on
127.0.0.1, good deliveries posted over HTTP, and deliveries the receiver once let through put in
the inbox as it would have queued them. Every good one is applied; the bad ones are listed with
their reasons and an admin retries or drops them, each with an audit row."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import orjson
import pytest

import service_fixture
from conftest import make_env, run_curator, run_json
from curator.inbox import Inbox

pytestmark = pytest.mark.slow  # 1,000 deliveries through the real service

SECRET = "inbox-test-webhook-secret"
GOOD = 1000
# The probe's delivery (D2): answered 202 by the receiver of the time, then it stalled the inbox
# for good. A receiver of today refuses it, so it can only be waiting from before an upgrade.
PROBE = {"action": "ANNOTATION_CREATED", "task": {"id": 1000},
         "annotation": {"id": 99_000_001, "task": 1000, "completed_by": {"id": True}, "result": []}}


def _plant(env: dict[str, str], n: int) -> list[tuple[int, str]]:
    """n examples, each with a review task as `review push` records it (no Label Studio needed:
    applying a delivery reads only the store)."""
    data = Path(env["CURATOR_STATE_DIR"]).parent / "examples.jsonl"
    data.write_bytes(b"".join(orjson.dumps({"instruction": f"Question {i}: how do I reset item {i}?",
                                            "output": f"Open settings {i}, choose reset, confirm."}) + b"\n"
                              for i in range(n)))
    run_curator(["ingest", str(data), "--source", "support"], env)
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute("INSERT INTO review_projects (ls_project_id, role, title, config_hash) VALUES (1, 'review', 'r', 'h')")
        rows = conn.execute("SELECT id, messages->>'$[-1].content' FROM examples ORDER BY id").fetchall()
        conn.executemany("INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft) VALUES (?, 1, ?, ?)",
                         [(eid, 1000 + eid, draft) for eid, draft in rows])
        conn.execute("UPDATE examples SET status = 'in_review'")
    return [(1000 + eid, draft) for eid, draft in rows]


def _payload(i: int, task_id: int, draft: str) -> dict:
    item = lambda name, kind, value: {"from_name": name, "to_name": "source", "type": kind, "value": value}  # noqa: E731
    return {"action": "ANNOTATION_CREATED", "task": {"id": task_id},
            "annotation": {"id": 70_000_000 + i, "task": task_id, "completed_by": 1, "lead_time": 3.0,
                           "result": [item("response", "textarea", {"text": [draft]}),
                                      item("verdict", "choices", {"choices": ["accept"]}),
                                      item("correctness", "rating", {"rating": 4})]}}


def _settled(client, deadline: float, set_aside: int) -> dict:
    """The inbox once nothing is pending and ``set_aside`` deliveries are set aside (a safety net
    against a hang, not a speed check)."""
    while True:
        view = client.get("/webhooks/inbox").json()
        if view["pending"] == 0 and len(view["set_aside"]) == set_aside:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.2)


def test_poison_deliveries_are_set_aside_and_all_1000_good_ones_are_applied(tmp_path):
    env = make_env(tmp_path, CURATOR_WEBHOOK_SECRET=SECRET, CURATOR_REVIEW_PULL_INTERVAL="0")
    tasks = _plant(env, GOOD)
    keys = {role: run_json(["keys", "create", "--name", role, "--role", role], env)["key"]
            for role in ("admin", "steward", "reviewer")}
    inbox_dir = Path(env["CURATOR_STATE_DIR"]) / "webhook-inbox"
    Inbox(inbox_dir).append(orjson.dumps(PROBE))  # waiting at the head of the inbox, as after the probe
    log = tmp_path / "server.log"
    deadline = time.monotonic() + 900
    with service_fixture.start(env, log=log) as served:
        def deliver(i: int) -> int:
            if i == GOOD // 2:  # among the good ones: a body apply never expected (an array; AttributeError)
                Inbox(inbox_dir, create=False).append(b"[1, 2, 3]")
            with served.client(timeout=60) as hook:
                return hook.post("/webhooks/label-studio", json=_payload(i, *tasks[i]),
                                 headers={"X-Curator-Webhook-Secret": SECRET}).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(deliver, range(GOOD)))
        assert codes == [202] * GOOD
        admin, steward, reviewer = (served.client(keys[r]) for r in ("admin", "steward", "reviewer"))
        view = _settled(steward, deadline, set_aside=2)
        probe, array = view["set_aside"]
        assert probe["action"] == "ANNOTATION_CREATED" and probe["annotations"] == [99_000_001]
        assert "InvalidAnnotation" in probe["reason"] and "completed_by" in probe["reason"] and probe["tries"] == 3
        assert array["reason"].startswith("AttributeError") and array["action"] is None
        status = reviewer.get("/review/status").json()["webhook_inbox"]
        assert status == {"pending": 0, "set_aside": 2}
        shown = run_curator(["review", "status"], env).stdout  # the CLI through the service
        assert "webhook inbox: 0 pending, 2 set aside" in shown

        # Only an admin retries or drops; a retried poison is set aside again, nothing else moves.
        assert steward.post(f"/webhooks/inbox/{probe['name']}/retry").status_code == 403
        assert admin.delete("/webhooks/inbox/00000000000000000000-00000000").status_code == 404
        assert admin.delete("/webhooks/inbox/..%2F..%2Fcurator.duckdb").status_code in (404, 422)
        retried = admin.post(f"/webhooks/inbox/{probe['name']}/retry")
        assert retried.status_code == 200 and retried.json()["done"] == "retried"
        again = _settled(steward, deadline, set_aside=2)
        assert [d["name"] for d in again["set_aside"]] == [probe["name"], array["name"]]
        dropped = run_json(["review", "drop-delivery", array["name"]], env)
        assert dropped["done"] == "dropped" and dropped["sha256"] == array["sha256"]
        assert admin.delete(f"/webhooks/inbox/{probe['name']}").json()["done"] == "dropped"
        assert _settled(steward, deadline, set_aside=0)["pending"] == 0
        for client in (admin, steward, reviewer):
            client.close()
    assert "Traceback" not in log.read_text(), log.read_text()
    with duckdb.connect(env["CURATOR_DB"], read_only=True) as conn:
        applied = conn.execute("SELECT count(*), count(DISTINCT ls_annotation_id) FROM reviews "
                               "WHERE received_via = 'webhook'").fetchone()
        audit = conn.execute("SELECT action, actor, target FROM audit_log WHERE action LIKE 'webhook.%' "
                             "ORDER BY id").fetchall()
    assert applied == (GOOD, GOOD)
    assert [a for a, _, _ in audit] == ["webhook.set_aside"] * 2 + ["webhook.retry", "webhook.set_aside",
                                                                      "webhook.drop", "webhook.drop"]
    assert {actor for a, actor, _ in audit if a != "webhook.set_aside"} <= {"api:admin", "cli:" + _user()}
    assert audit[-1][2] == probe["name"]


def _user() -> str:
    import getpass

    return getpass.getuser()
