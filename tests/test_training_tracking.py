"""Experiment tracking and runs compared across versions (issue 18), end to end with the real CLI
and a tiny local model: two versions of one dataset (the second adds examples), a short run on
each reporting to TensorBoard and MLflow. What was tracked is read back with the trackers' own
readers (the MLflow client on the local store, TensorBoard's event accumulator), and
`training compare` shows the data delta next to the metric deltas."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from conftest import make_env, run_curator, run_json
from trainer_data import SYSTEM, build_tiny_model, routing_examples

pytestmark = pytest.mark.slow

CONFIG = {"system_prompt": SYSTEM, "max_seq_length": 128, "max_steps": 12, "eval_steps": 6, "learning_rate": 1e-3,
          "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1, "gradient_checkpointing": False,
          "early_stopping_patience": None, "eval_max_new_tokens": 4, "logging_steps": 3, "merge": False,
          "eval_limit": 16, "report_to": ["tensorboard", "mlflow"], "tracking_project": "routing-experiments"}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("tracking")
    examples = routing_examples(shared_data, per_class=40)
    model = build_tiny_model(root / "model", [m[0]["content"] for m in examples] + ["account order refund", SYSTEM])
    env = make_env(root, OMP_NUM_THREADS="1")
    data = root / "routing.jsonl"
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in examples), encoding="utf-8")
    run_curator(["ingest", str(data), "--source", "routing"], env)
    run_curator(["dedup", "--target", "examples"], env)
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute("UPDATE examples SET status = 'approved'")
        held_back = conn.execute("SELECT count(*) FROM examples WHERE id % 4 = 0").fetchone()[0]
    run_curator(["version", "create", "routing", "--where", "id % 4 <> 0"], env)  # v1: three quarters
    run_curator(["version", "approve", "routing@1"], env)
    run_curator(["version", "create", "routing"], env)  # v2: everything
    run_curator(["version", "approve", "routing@2"], env)
    config = root / "train.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    runs = []
    for ref in ("routing@1", "routing@2"):
        proc = run_curator(["train", ref, "--base-model", str(model), "--config", str(config), "--json"], env,
                           check=False, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
        runs.append(json.loads(proc.stdout))
    return {"env": env, "runs": runs, "held_back": held_back}


def test_mlflow_run_holds_params_metrics_artifacts_and_the_dataset(two_runs):
    import os

    from mlflow.tracking import MlflowClient

    summary = two_runs["runs"][0]
    tracking = summary["tracking"]["mlflow"]  # GET /training-runs/{id} (training show) links to it
    assert tracking["experiment"] == "routing-experiments" and tracking["tracking_uri"].startswith("file:")
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=tracking["tracking_uri"])
    run = client.get_run(tracking["run_id"])
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["dataset.ref"] == "routing@1" and params["dataset.content_hash"] == json.loads(
        Path(summary["run_dir"], "result.json").read_text())["content_hash"]
    assert params["config.learning_rate"] == "0.001" and params["base_model"].endswith("model")
    losses = client.get_metric_history(run.info.run_id, "loss")
    evals = client.get_metric_history(run.info.run_id, "eval_loss")
    assert [m.step for m in losses] == [3, 6, 9, 12]  # every logging step
    assert sorted({m.step for m in evals}) == [0, 6, 12]  # the baseline evaluation, then every eval_steps
    assert "test/tuned/exact_match" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"RUN_CARD.md", "loss.png", "eval_examples.jsonl", "config.yaml"} <= artifacts
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "routing@1" and params["dataset.content_hash"].startswith(
        dataset_input.dataset.digest)
    card = Path(summary["run_dir"], "RUN_CARD.md").read_text()
    assert f"MLflow: run `{tracking['run_id']}`" in card and "TensorBoard" in card


def test_tensorboard_event_files_hold_the_scalars(two_runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log_dir = two_runs["runs"][0]["tracking"]["tensorboard"]["log_dir"]
    events = EventAccumulator(log_dir)
    events.Reload()
    assert {"loss", "eval_loss", "learning_rate"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("loss")] == [3, 6, 9, 12]
    mlflow_losses = json.loads(Path(two_runs["runs"][0]["run_dir"], "loss.json").read_text())["train"]
    assert [round(e.value, 4) for e in events.Scalars("loss")] == [round(v, 4) for _, v in mlflow_losses]


def test_compare_shows_the_data_delta_next_to_the_metric_deltas(two_runs):
    env = two_runs["env"]
    a, b = (r["id"] for r in two_runs["runs"])
    data = run_json(["training", "compare", str(a), str(b)], env)
    (step,) = data["steps"]
    assert step["from_version"] == "routing@1" and step["to_version"] == "routing@2"
    assert step["data"]["added"] == two_runs["held_back"] > 0 and step["data"]["removed"] == 0
    tuned = step["metrics"]["tuned/test/exact_match"]
    assert tuned["delta"] == pytest.approx(tuned["to"] - tuned["from"])
    assert "tuned/validation/eval_loss" in step["metrics"]
    text = run_curator(["training", "compare", str(a), str(b)], env).stdout
    assert f"data {two_runs['held_back']} added, 0 removed, 0 edited" in text and "tuned/test/exact_match" in text
    refused = run_curator(["training", "compare", str(a)], env, check=False)
    assert refused.returncode != 0
