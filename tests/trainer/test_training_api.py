"""Training triggered from the service on a dataset version built in the store, end to end:
ingest a learnable task with the real CLI, dedup, approve the examples (as review would),
`curator version create`, then `POST /training-runs` — refused while the version is a draft,
accepted once a steward approved it — and the run's status, metrics and log read back over HTTP.
A real server on 127.0.0.1, the real trainer process on a tiny model built here."""

from __future__ import annotations

import json
import time

import duckdb
import pytest

from conftest import make_env, run_curator, run_json
from service_fixture import serving_with_keys
from trainer_data import SYSTEM, build_tiny_model, routing_examples

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

RUN_CONFIG = {"system_prompt": SYSTEM, "max_seq_length": 128, "max_steps": 40, "eval_steps": 20,
              "learning_rate": 1e-3, "per_device_train_batch_size": 8, "gradient_checkpointing": False,
              "eval_max_new_tokens": 4, "logging_steps": 10}


@pytest.fixture(scope="module")
def service(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("training-api")
    examples = routing_examples(shared_data, per_class=60)
    data = root / "routing.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "system", "content": SYSTEM}, *m]}) + "\n"
                            for m in examples), encoding="utf-8")
    model = build_tiny_model(root / "model", [m[0]["content"] for m in examples] + [SYSTEM])
    env = make_env(root, OMP_NUM_THREADS="1")
    run_curator(["ingest", str(data), "--source", "routing"], env)
    run_curator(["dedup", "--target", "examples"], env)
    conn = duckdb.connect(env["CURATOR_DB"])  # what `review pull` does for accepted examples
    conn.execute("UPDATE examples SET status = 'approved'")
    conn.close()
    created = run_json(["version", "create", "routing", "--seed", "1"], env)
    assert created["created"], created
    with serving_with_keys(root, OMP_NUM_THREADS="1") as svc:
        svc.model = model
        yield svc


def _runs(service) -> int:
    with service.as_role("steward") as client:
        return len(client.get("/training-runs").json())


def test_draft_version_is_refused_and_roles_are_enforced(service):
    body = {"version": "routing@1", "base_model": str(service.model), "config": RUN_CONFIG}
    with service.as_role("admin") as client:
        draft = client.post("/training-runs", json=body)
        unknown = client.post("/training-runs", json=body | {"version": "nothing@9"})
        bad_key = client.post("/training-runs", json=body | {"config": {"learning_rat": 1e-4}})
        missing = client.get("/training-runs/424242")
    with service.as_role("steward") as client:
        steward = client.post("/training-runs", json=body)
    assert draft.status_code == 409 and "routing@1 is draft" in draft.json()["detail"]
    assert unknown.status_code == 404 and missing.status_code == 404
    assert steward.status_code == 403
    assert bad_key.status_code in (400, 409, 422)
    assert _runs(service) == 0, "a refused request writes no run"


def test_approved_version_trains_and_reports_back(service):
    with service.as_role("steward") as client:
        approved = client.post("/versions/routing@1/approve")
        assert approved.status_code == 200, approved.text
        shown = client.get("/versions/routing@1").json()
    body = {"version": "routing@1", "base_model": str(service.model), "config": RUN_CONFIG}
    with service.as_role("admin") as client:
        started = client.post("/training-runs", json=body)
        assert started.status_code == 201, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + 480
        while True:
            run = client.get(f"/training-runs/{run_id}", params={"tail": 50}).json()
            if run["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
                break
            time.sleep(2)
    assert run["status"] == "succeeded", run["log_tail"]
    assert run["version"] == "routing@1" and run["log_tail"]
    assert run["step"] == run["max_steps"] == RUN_CONFIG["max_steps"]
    n_test = shown["counts"]["test"] if "counts" in shown else None
    assert run["eval"]["n"] == n_test and n_test > 0
    models = {r["model"] for r in run["eval_results"]}
    assert {"base", "tuned"} <= models
    assert {r["metric"] for r in run["eval_results"]} >= {"exact_match", "rouge_l", "token_f1"}
    artifacts = run["artifacts"]
    assert artifacts and any("Modelfile" in str(p) for p in artifacts.values())
    with service.as_role("admin") as client:
        audit = client.get("/audit").json()
    assert any(a["action"] == "training.start" and a["actor"] == "api:admin" for a in audit)
