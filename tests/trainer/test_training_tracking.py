"""Experiment tracking and runs compared across versions (issue 18), end to end with the real CLI
and a tiny local model: two versions of one dataset (the second adds examples), a short run on
each reporting to TensorBoard and MLflow. What was tracked is read back with the trackers' own
readers (the MLflow client on the local store, TensorBoard's event accumulator), and
`training compare` shows the data delta next to the metric deltas."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml

from conftest import make_env, query, run_curator, run_json
from openai_server import openai_server  # noqa: F401  (the fixture)
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


def test_judge_gives_the_rule_s_win_rate_across_position_swaps_and_its_cost_is_accounted(two_runs, openai_server):
    from openai_server import judge_prefers_longer

    openai_server.respond = judge_prefers_longer
    env = {**two_runs["env"], "CURATOR_OPENAI_BASE_URL": openai_server.base_url, "CURATOR_OPENAI_API_KEY": "test-key",
           "CURATOR_MODEL": "judge-model", "CURATOR_PRICES": json.dumps({"judge-model": {"input": 1.0, "output": 4.0}}),
           "CURATOR_PII_POLICY": "allow", "CURATOR_MAX_RETRIES": "1"}
    run_id = two_runs["runs"][0]["id"]
    table = query(env, f"SELECT base_output, tuned_output FROM eval_examples WHERE run_id = {run_id}")
    # The rule: longer wins, equal → "A". Asked both ways, an equal pair is A once as tuned and once as
    # base, so it must come out a tie, not a win: that is the position swap at work.
    wins = sum(len(t) > len(b) for b, t in table)
    losses = sum(len(t) < len(b) for b, t in table)
    result = run_json(["training", "judge", str(run_id)], env)
    print("\njudge:", {k: result[k] for k in ("n", "win", "tie", "loss", "judge_win_rate", "intervals", "cost_usd")})
    assert (result["n"], result["win"], result["loss"], result["tie"]) == (len(table), wins, losses,
                                                                          len(table) - wins - losses)
    assert result["judge_win_rate"] == pytest.approx(wins / len(table))
    low, high = result["intervals"]["judge_win_rate"]
    assert low <= result["judge_win_rate"] <= high
    assert len(openai_server.requests) == 2 * len(table) == result["requests"]  # both orders, every example
    asked = sorted(judged(r.body) for r in openai_server.requests)  # each pair once as (tuned, base), once swapped
    assert asked == sorted([(t, b) for b, t in table] + [(b, t) for b, t in table])
    # Cost: priced per token from the server's usage, recorded with the generation run.
    (cost,) = query(env, f"SELECT cost_usd FROM generation_runs WHERE id = {result['generation_run_id']}")[0]
    assert result["cost_usd"] > 0 and cost == pytest.approx(result["cost_usd"])
    stored = dict(query(env, f"SELECT metric, value FROM eval_results WHERE run_id = {run_id} AND metric LIKE 'judge%'"))
    assert stored["judge_win_rate"] == pytest.approx(result["judge_win_rate"]) and "judge_win_rate_ci_low" in stored
    shown = run_curator(["training", "show", str(run_id)], env).stdout
    assert f"judge (both orders): fine-tuned wins {result['judge_win_rate']:.1%}" in shown and "mlflow: run" in shown
    again = run_json(["training", "judge", str(run_id)], env)  # answered from the cache: nothing paid
    assert again["requests"] == 0 and again["cache_hits"] == 2 * len(table) and again["cost_usd"] == 0
    assert again["win"] == result["win"]


def judged(body: dict) -> tuple[str, str]:
    from openai_server import judged_answers, last_user_message

    return judged_answers(last_user_message(body))


def test_a_judge_that_always_picks_the_first_answer_gives_only_ties(two_runs, openai_server):
    openai_server.respond = lambda body: json.dumps({"winner": "A"})  # pure position bias, no preference
    env = {**two_runs["env"], "CURATOR_OPENAI_BASE_URL": openai_server.base_url, "CURATOR_OPENAI_API_KEY": "test-key",
           "CURATOR_MODEL": "biased-judge", "CURATOR_PII_POLICY": "allow", "CURATOR_MAX_RETRIES": "1"}
    result = run_json(["training", "judge", str(two_runs["runs"][1]["id"])], env)
    assert result["n"] > 0 and result["tie"] == result["n"] and result["win"] == result["loss"] == 0
    assert result["judge_tie_rate"] == 1.0 and result["position_consistent"] == 0


def test_outcome_needs_both_orders_to_agree():
    from curator.judge.pairwise import outcome, wilson

    assert outcome("A", "B") == "win" and outcome("B", "A") == "loss"
    assert outcome("A", "A") == outcome("B", "B") == outcome("tie", "B") == outcome(None, "B") == "tie"
    low, high = wilson(8, 10)
    assert 0.44 < low < 0.8 < high < 0.98 and wilson(0, 5)[0] == 0.0


def test_stats_page_shows_the_runs_across_versions(two_runs):
    from service_fixture import serving_with_keys

    root = Path(two_runs["env"]["CURATOR_DB"]).parent
    a, b = (r["id"] for r in two_runs["runs"])
    with serving_with_keys(root, roles=("steward",)) as svc:
        with httpx.Client(base_url=svc.url, headers={"Authorization": f"Bearer {svc.keys['steward']}"}) as client:
            page = client.get("/")
    assert page.status_code == 200
    section = page.text.split('<table id="runs-compared">', 1)[1].split("</table>", 1)[0]
    assert f"{a} → {b}" in section and "routing@1 → routing@2" in section
    assert '<td rowspan="' in section and f">{two_runs['held_back']}</td>" in section and "tuned/test/exact_match" in section
