"""The bundled QLoRA trainer end to end on the CPU: a tiny Llama built here, 4-bit through
bitsandbytes' CPU backend, a learnable routing task from real support messages.

One trained run (through `curator train`, as a user starts it) is shared by the tests that read
its results; the others run the pieces in-process with a handful of steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("bitsandbytes")

from conftest import make_env, run_curator  # noqa: E402
from trainer_data import (EOT_OUTSIDE, NO_GENERATION, SYSTEM, build_tiny_model,  # noqa: E402
                          routing_examples, set_template, write_export)

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

torch.set_num_threads(1)

RUN_CONFIG = {"system_prompt": SYSTEM, "max_seq_length": 128, "max_steps": 300, "eval_steps": 25,
              "learning_rate": 1e-3, "per_device_train_batch_size": 8, "gradient_accumulation_steps": 1,
              "gradient_checkpointing": False, "lr_scheduler_type": "linear", "early_stopping_patience": 3,
              "eval_max_new_tokens": 6, "logging_steps": 10}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("tiny")
    examples = routing_examples(shared_data)
    texts = [m[0]["content"] for m in examples] + ["account order refund", SYSTEM]
    model = build_tiny_model(root / "model", texts)
    export = write_export(root / "export", examples)
    return {"root": root, "model": model, "export": export, "examples": examples}


def _config_file(path: Path, **changes) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(RUN_CONFIG | changes), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained(tiny, tmp_path_factory):
    """The whole path on a version built in the store: the task ingested with the real CLI,
    near-duplicates removed, the examples approved (as review would), `curator version create`
    and `version approve` (leakage check), then `curator train routing@1` in the foreground: the
    job runner exports the version and starts `python -m trainer run`."""
    root = tmp_path_factory.mktemp("trained")
    env = make_env(root, OMP_NUM_THREADS="1")
    data = root / "routing.jsonl"
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in tiny["examples"]), encoding="utf-8")
    run_curator(["ingest", str(data), "--source", "routing"], env)
    run_curator(["dedup", "--target", "examples"], env)
    conn = duckdb.connect(env["CURATOR_DB"])
    conn.execute("UPDATE examples SET status = 'approved'")
    conn.close()
    run_curator(["version", "create", "routing", "--seed", "3"], env)
    run_curator(["version", "approve", "routing@1"], env)
    config = _config_file(root / "train.yaml")
    proc = run_curator(["train", "routing@1", "--base-model", str(tiny["model"]), "--config", str(config),
                        "--json"], env, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    summary = json.loads(proc.stdout)
    conn = duckdb.connect(env["CURATOR_DB"], read_only=True)
    n_test = conn.execute("SELECT count(*) FROM dataset_items WHERE split = 'test'").fetchall()[0][0]
    conn.close()
    return {"summary": summary, "run_dir": Path(summary["run_dir"]), "env": env, "db": root / "curator.duckdb",
            "n_test": n_test, "export": Path(env["CURATOR_STATE_DIR"]) / "exports" / "routing@1" / "openai"}


# ---------------------------------------------------------------- config and export contract

def test_config_rejects_unknown_keys_and_inconsistent_fields(tmp_path):
    from trainer.config import TrainConfig
    from trainer.errors import TrainerError

    bad = tmp_path / "bad.yaml"
    bad.write_text("lora_r: 8\nlearning_rte: 0.001\n")
    with pytest.raises(TrainerError, match=r"bad.yaml: invalid training config: learning_rte: Extra inputs"):
        TrainConfig.load(bad)
    with pytest.raises(TrainerError, match="load_in_4bit needs a compute_dtype"):
        TrainConfig.load(overrides={"compute_dtype": None})
    assert TrainConfig.load(overrides={"lora_r": 32}).lora_alpha == 64
    from trainer import __file__ as package

    documented = TrainConfig.load(Path(package).parent / "configs" / "default.yaml")
    assert documented == TrainConfig(), "trainer/configs/default.yaml no longer spells out the defaults"


def test_a_run_that_cannot_start_is_closed_as_failed(tiny, tmp_path):
    from curator.store import open_store
    from curator.training_jobs import TrainingRunError, get_run, list_runs, start_run

    conn = open_store(tmp_path / "c.duckdb")
    with pytest.raises(TrainingRunError, match="could not start"):
        start_run(conn, tiny["export"], str(tiny["model"]), state_dir=tmp_path / "state",
                  python=str(tmp_path / "no-such-python"))
    run = get_run(conn, list_runs(conn)[0]["id"])
    assert run["status"] == "failed" and "no-such-python" in run["error"], "never left queued"


def test_unapproved_or_altered_export_is_refused(tiny, tmp_path):
    from curator.store import open_store
    from curator.training_jobs import start_run
    from trainer.errors import TrainerError

    draft = write_export(tmp_path / "draft", tiny["examples"], status="draft")
    conn = open_store(tmp_path / "c.duckdb")
    with pytest.raises(TrainerError, match=r"routing@1 has status 'draft'; only an approved version"):
        start_run(conn, draft, str(tiny["model"]), state_dir=tmp_path / "state")
    altered = write_export(tmp_path / "altered", tiny["examples"])
    with (altered / "test.jsonl").open("a") as fh:
        planted = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]
        fh.write(json.dumps({"messages": planted}) + "\n")
    with pytest.raises(TrainerError, match=r"test.jsonl: sha256 .* does not match the manifest"):
        start_run(conn, altered, str(tiny["model"]), state_dir=tmp_path / "state")
    from curator.training_jobs import TrainingRunError

    with pytest.raises(TrainingRunError, match=r"base model '/nowhere/model': no such folder"):
        start_run(conn, tiny["export"], "/nowhere/model", state_dir=tmp_path / "state")
    assert conn.execute("SELECT count(*) FROM training_runs").fetchone()[0] == 0


# ---------------------------------------------------------------- pre-flight

def test_preflight_report_is_right_and_planted_templates_are_refused(tiny, tmp_path):
    from trainer.config import TrainConfig
    from trainer.data import preflight_and_tokenize
    from trainer.model import load_tokenizer
    from trainer.version import read_export

    splits = read_export(tiny["export"]).splits
    config = TrainConfig(system_prompt=SYSTEM, max_seq_length=58, overlength="truncate")
    report, rows = preflight_and_tokenize(load_tokenizer(str(tiny["model"]), config), splits, config)
    assert report.ok and report.eot_token == "<|im_end|>" and report.empty_mask == report.missing_eot == 0
    assert report.system_prompt == SYSTEM and report.system_prompt_mismatch == 0
    assert report.overlength > 0 and report.truncated > 0 and report.truncated + report.dropped == report.overlength
    assert all(len(r["input_ids"]) <= 58 for r in rows["train"])
    assert report.kept["train"] == len(splits["train"]) - (report.dropped - (report.examples["validation"]
                                                                               - report.kept["validation"]))
    first = rows["train"][0]
    learned = [t for t, lab in zip(first["input_ids"], first["labels"]) if lab != -100]
    tokenizer = load_tokenizer(str(tiny["model"]), config)
    assert tokenizer.decode(learned) == splits["train"][0][-1]["content"] + "<|im_end|>"

    dropped, _ = preflight_and_tokenize(tokenizer, splits, config.model_copy(update={"overlength": "drop"}))
    assert dropped.dropped == dropped.overlength > 0 and dropped.kept["train"] < len(splits["train"])
    other = config.model_copy(update={"system_prompt": "You are a pirate."})
    with_system = {k: [[{"role": "system", "content": SYSTEM}, *m] for m in v] for k, v in splits.items()}
    mismatch, _ = preflight_and_tokenize(tokenizer, with_system, other)
    assert not mismatch.ok and "different from the serving one 'You are a pirate.'" in " ".join(mismatch.problems)

    for template, expected in ((NO_GENERATION, "empty assistant mask"),
                               (EOT_OUTSIDE, "'<|im_end|>' outside the assistant mask")):
        bad_dir = set_template(tiny["model"], template, tmp_path / f"bad{len(template)}")
        bad, _ = preflight_and_tokenize(load_tokenizer(str(bad_dir), config), splits, config)
        assert not bad.ok and expected in " ".join(bad.problems), bad.problems


def test_cli_refuses_a_planted_template_before_training(tiny, tmp_path):
    bad = set_template(tiny["model"], EOT_OUTSIDE, tmp_path / "bad-model")
    env = make_env(tmp_path, OMP_NUM_THREADS="1")
    proc = run_curator(["train", str(tiny["export"]), "--base-model", str(bad), "--json"], env, check=False)
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    assert summary["status"] == "failed" and summary["stage"] == "data"
    assert "pre-flight refused the run" in summary["error"] and "outside the assistant mask" in summary["error"]
    assert not (Path(summary["run_dir"]) / "checkpoints").exists()
    assert json.loads((Path(summary["run_dir"]) / "preflight.json").read_text())["missing_eot"] > 0


# ---------------------------------------------------------------- QLoRA mechanics, in-process

def test_qlora_trains_adapters_only_and_gradients_survive_evaluation(tiny, tmp_path):
    import bitsandbytes as bnb
    from trainer.config import TrainConfig
    from trainer.data import preflight_and_tokenize
    from trainer.evaluate import generate, test_prompts
    from trainer.model import attach_lora, keep_cpu_4bit_trainable, load_base, load_tokenizer
    from trainer.train import build_trainer
    from trainer.version import read_export

    config = TrainConfig(**(RUN_CONFIG | {"max_steps": 6, "eval_steps": 3}))
    splits = read_export(tiny["export"]).splits
    tokenizer = load_tokenizer(str(tiny["model"]), config)
    _, rows = preflight_and_tokenize(tokenizer, splits, config)
    model, quantized, _ = load_base(str(tiny["model"]), config)
    assert quantized and sum(isinstance(m, bnb.nn.Linear4bit) for m in model.modules()) == 14
    model = attach_lora(model, config, quantized)

    trainer = build_trainer(model, tokenizer, rows, config, tmp_path, quantized)
    batch = trainer.data_collator(rows["train"][:4])
    # bitsandbytes' own default on avx512_bf16 CPUs: the first eval-mode forward repacks the 4-bit
    # weights for an inference kernel without autograd; the guard must undo it
    from bitsandbytes.functional import has_avx512bf16

    for m in model.modules():
        if isinstance(m, bnb.nn.Linear4bit):
            m.support_avx512bf16_for_cpu = has_avx512bf16()
    model.eval()
    with torch.no_grad():
        model(**batch)
    assert keep_cpu_4bit_trainable(model) == (14 if has_avx512bf16() else 0)
    # evaluation and generation as the run does them, then a training step
    trainer.evaluate()
    generate(model, tokenizer, test_prompts(splits["test"], SYSTEM, 2)[0], 2)
    model.train()
    for layer in (m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)):
        x = torch.randn(2, layer.in_features, requires_grad=True)  # packed weights: x.grad stays None
        layer(x).sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
    model(**batch).loss.backward()
    lora = {n: p for n, p in model.named_parameters() if "lora_" in n}
    assert len(lora) == 28 and all(p.grad.abs().sum() > 0 for n, p in lora.items() if "lora_B" in n)
    model.zero_grad()

    def snapshot():
        state = {n: t.detach().clone() for n, t in model.state_dict().items()}
        return {n: t for n, t in state.items() if "lora_" not in n}, {n: t for n, t in state.items() if "lora_" in n}

    base_before, lora_before = snapshot()
    trainer.train()
    base_after, lora_after = snapshot()
    assert base_before.keys() == base_after.keys() and any(t.dtype == torch.uint8 for t in base_after.values())
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)
    assert all(not torch.equal(lora_before[n], lora_after[n]) for n in lora_before if "lora_B" in n)


def test_packing_is_isolated_per_sequence(tiny):
    """Padding-free packing (one flattened row, position ids, no attention mask) gives the same loss
    as padded batches: no example attends to its neighbours."""
    from trainer.config import TrainConfig
    from trainer.data import preflight_and_tokenize
    from trainer.model import attach_lora, load_base, load_tokenizer
    from trainer.train import collator
    from trainer.version import read_export

    config = TrainConfig(**(RUN_CONFIG | {"load_in_4bit": False}))
    tokenizer = load_tokenizer(str(tiny["model"]), config)
    _, rows = preflight_and_tokenize(tokenizer, read_export(tiny["export"]).splits, config)
    model, quantized, reason = load_base(str(tiny["model"]), config)
    assert not quantized and reason == "load_in_4bit is false"  # plain LoRA on a full-precision base
    model = attach_lora(model, config, quantized).eval()  # sets use_cache=False, which packing needs
    batch = rows["train"][:6]
    padded = collator(tokenizer, config)(batch)
    packed = collator(tokenizer, config.model_copy(update={"packing": True}))(batch)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed
    with torch.no_grad():
        assert abs(model(**padded).loss.item() - model(**packed).loss.item()) < 1e-4


# ---------------------------------------------------------------- the shared run

def test_run_is_recorded_and_tuned_beats_base(trained):
    """Tuned beats base on the held-out test split. Since splits group same-answer paraphrases
    (issue 25), no test request has a near-copy in train: tuned measured 0.64 exact match where
    the leaky split gave >= 0.8; the floor is 0.5 against the base's 0."""
    import duckdb

    summary, run_dir = trained["summary"], trained["run_dir"]
    assert summary["status"] == "succeeded" and summary["stage"] == "merge", summary["log_tail"]
    with duckdb.connect(str(trained["db"]), read_only=True) as conn:  # closed even when an assert fails
        metrics = {(m, k): v for m, k, v in conn.execute("SELECT model, metric, value FROM eval_results").fetchall()}
        splits = dict(conn.execute("SELECT metric, list(DISTINCT split) FROM eval_results GROUP BY metric").fetchall())
        assert splits["eval_loss"] == ["validation"] and splits["exact_match"] == ["test"]
        assert metrics[("base", "exact_match")] <= 0.1 and metrics[("tuned", "exact_match")] >= 0.5, metrics
        assert metrics[("tuned", "rouge_l")] > metrics[("base", "rouge_l")]
        assert metrics[("tuned", "token_f1")] > metrics[("base", "token_f1")]
        assert metrics[("tuned", "eval_loss")] < metrics[("base", "eval_loss")] / 5
        assert metrics[("merged", "exact_match")] == summary["eval"]["merged"]["exact_match"]
        n_examples, agree = conn.execute(
            "SELECT count(*), avg(tuned_exact_match) FROM eval_examples WHERE run_id = ?", [summary["id"]]).fetchone()
        assert n_examples == trained["n_test"] > 20 and agree == metrics[("tuned", "exact_match")]
        run = conn.execute("SELECT status, version_ref, preflight, config, step, max_steps FROM training_runs").fetchone()
        assert run[:2] == ("succeeded", "routing@1")
        assert json.loads(run[2])["ok"] and json.loads(run[3])["lora_r"] == 16 and run[4] <= run[5] == 300
    assert summary["training"]["best_eval_loss"] == min(e for _, e in json.loads((run_dir / "loss.json").read_text())
                                                        ["validation"])
    assert (run_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from safetensors.torch import load_file  # the saved adapter is the best checkpoint's, not the last step's

    best = load_file(Path(summary["training"]["best_checkpoint"]) / "adapter_model.safetensors")
    saved = load_file(run_dir / "adapter" / "adapter_model.safetensors")
    assert best.keys() == saved.keys() and all(torch.equal(best[k], saved[k]) for k in best)
    assert (run_dir / "config.yaml").read_text().startswith("load_in_4bit: true")


def test_cli_lists_shows_and_refuses_to_cancel_a_finished_run(trained):
    env, run_id = trained["env"], trained["summary"]["id"]
    listed = json.loads(run_curator(["training", "list", "--json"], env).stdout)
    assert [(r["id"], r["status"]) for r in listed] == [(run_id, "succeeded")]
    shown = json.loads(run_curator(["training", "show", str(run_id), "--json"], env).stdout)
    assert shown["eval"]["tuned"]["exact_match"] == trained["summary"]["eval"]["tuned"]["exact_match"]
    assert shown["artifacts"]["run_card"].endswith("RUN_CARD.md")
    proc = run_curator(["training", "cancel", str(run_id)], env, check=False)
    assert proc.returncode == 1 and f"training run {run_id} already succeeded" in proc.stderr
    missing = run_curator(["training", "show", "99"], env, check=False)
    assert missing.returncode == 1 and "training run 99 does not exist" in missing.stderr


def _wait_until_underway(env: dict, run_id: int, timeout: float = 120) -> dict:
    """The run as ``training show`` reports it once its process has entered a stage of the pipeline."""
    deadline = time.monotonic() + timeout
    while True:
        shown = json.loads(run_curator(["training", "show", str(run_id), "--json"], env).stdout)
        if shown["status"] != "running" or shown["stage"] not in (None, "starting"):
            return shown
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)


def test_detached_run_is_cancelled(tiny, tmp_path):
    env = make_env(tmp_path, OMP_NUM_THREADS="1")
    started = json.loads(run_curator(["train", str(tiny["export"]), "--base-model", str(tiny["model"]), "--detach",
                                      "--json"], env).stdout)
    assert started["status"] == "running"
    underway = _wait_until_underway(env, started["id"])
    assert underway["status"] == "running", underway
    cancelled = json.loads(run_curator(["training", "cancel", str(started["id"]), "--json"], env).stdout)
    assert cancelled["status"] == "cancelled" and cancelled["error"].startswith("cancelled by cli:")
    stat = Path(f"/proc/{started['pid']}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", stat.read_text()
    audit = json.loads(run_curator(["training", "list", "--json"], env).stdout)
    assert audit[0]["status"] == "cancelled"


def test_modelfile_vllm_command_and_run_card(trained):
    run_dir = trained["run_dir"]
    modelfile = (run_dir / "Modelfile").read_text()
    assert f"FROM {run_dir / 'merged'}" in modelfile and f'SYSTEM """{SYSTEM}"""' in modelfile
    assert 'PARAMETER stop "<|im_end|>"' in modelfile and "PARAMETER temperature 0.7" in modelfile
    vllm = trained["summary"]["artifacts"]["vllm_serve"]
    assert vllm.startswith(f"vllm serve {run_dir / 'merged'} --served-model-name routing-1-run1 --max-model-len 128")
    card = (run_dir / "RUN_CARD.md").read_text()
    assert "data version: `routing@1`" in card and "| exact_match | 0.000 |" in card and vllm in card
    assert "QLoRA: 4-bit nf4, double quant True, compute bfloat16" in card and SYSTEM in card
    assert (run_dir / "merged" / "model.safetensors").is_file() and (run_dir / "merged" / "tokenizer.json").is_file()


def test_blind_pairwise_review_tasks(trained):
    run_dir = trained["run_dir"]
    tasks = json.loads((run_dir / "pairwise_tasks.json").read_text())
    key = json.loads((run_dir / "pairwise_key.json").read_text())
    table = [json.loads(line) for line in (run_dir / "eval_examples.jsonl").read_text().splitlines()]
    assert len(tasks) == len(table) == trained["n_test"] and "<Pairwise" in (run_dir / "pairwise_config.xml").read_text()
    sides = set()
    for task, row in zip(tasks, table):
        data = task["data"]
        assert "tuned" not in json.dumps(data) and data["prompt"] == row["prompt"]
        for slot in ("answer_a", "answer_b"):
            sides.add((slot, key[str(row["index"])][slot]))
            assert data[slot] == row[f"{key[str(row['index'])][slot]}_output"]
    assert sides == {("answer_a", "base"), ("answer_a", "tuned"), ("answer_b", "base"), ("answer_b", "tuned")}


def test_merged_model_reproduces_the_adapter_model(trained, tiny):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from trainer.config import TrainConfig
    from trainer.evaluate import generate, test_prompts
    from trainer.metrics import exact_match
    from trainer.model import load_tokenizer
    from trainer.version import read_export

    run_dir = trained["run_dir"]
    tokenizer = load_tokenizer(str(run_dir / "merged"), TrainConfig(max_seq_length=128))
    prompts, refs = test_prompts(read_export(trained["export"]).splits["test"], SYSTEM)
    base = AutoModelForCausalLM.from_pretrained(tiny["model"], dtype=torch.float32)
    adapter = PeftModel.from_pretrained(base, str(run_dir / "adapter"))
    merged = AutoModelForCausalLM.from_pretrained(run_dir / "merged", dtype=torch.float32)
    assert not any("lora" in n for n, _ in merged.named_parameters())
    with_adapter = generate(adapter, tokenizer, prompts, 6)
    from_merged = generate(merged, tokenizer, prompts, 6)
    assert from_merged == with_adapter
    # the deployed model is scored by the run itself (the 4-bit quantisation error of a 64-wide toy
    # model costs some accuracy once the adapter sits on the full-precision weights)
    merged_em = sum(exact_match(o, r) for o, r in zip(from_merged, refs)) / len(refs)
    assert merged_em == trained["summary"]["eval"]["merged"]["exact_match"] >= 0.5


def test_merge_into_dequantized_base_reproduces_the_4bit_model(trained, tiny, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from trainer.config import TrainConfig
    from trainer.evaluate import generate, test_prompts
    from trainer.merge import merge_adapter
    from trainer.model import load_base, load_tokenizer
    from trainer.version import read_export

    config = TrainConfig(**(RUN_CONFIG | {"merge_base": "dequantized"}))
    tokenizer = load_tokenizer(str(tiny["model"]), config)
    prompts, _ = test_prompts(read_export(tiny["export"]).splits["test"], SYSTEM)
    base4, quantized, _ = load_base(str(tiny["model"]), config)
    assert quantized
    tuned4 = generate(PeftModel.from_pretrained(base4, str(trained["run_dir"] / "adapter")), tokenizer, prompts, 6)
    out = merge_adapter(str(tiny["model"]), trained["run_dir"] / "adapter", tmp_path / "merged", config, tokenizer)
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    assert generate(merged, tokenizer, prompts, 6) == tuned4


# ---------------------------------------------------------------- kill and resume, job runner

def test_killed_run_resumes_to_the_same_number_of_steps(tiny, tmp_path):
    from curator.store import open_store
    from curator.training_jobs import follow, refresh, resume_run, start_run

    conn = open_store(tmp_path / "c.duckdb")
    config = RUN_CONFIG | {"max_steps": 120, "eval_steps": 20, "early_stopping_patience": None, "merge": False,
                           "eval_limit": 4, "save_total_limit": 5}
    run_id = start_run(conn, tiny["export"], str(tiny["model"]), config, state_dir=tmp_path / "state")
    row = refresh(conn, run_id)
    run_dir, pid = Path(row["run_dir"]), row["pid"]
    deadline = time.monotonic() + 300
    while not (run_dir / "checkpoints" / "checkpoint-40").is_dir():
        assert refresh(conn, run_id)["status"] == "running", row
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    follow(run_dir, pid, timeout=30)
    killed = refresh(conn, run_id)
    assert killed["status"] == "failed" and "ended without finishing" in killed["error"]
    assert 40 <= killed["step"] < 120
    partial = run_dir / "checkpoints" / "checkpoint-100"  # as a kill in the middle of a save leaves it
    partial.mkdir(exist_ok=True)
    (partial / "adapter_config.json").write_text("{}")

    resume_run(conn, run_id)
    follow(run_dir, refresh(conn, run_id)["pid"], timeout=300)
    done = refresh(conn, run_id)
    assert done["status"] == "succeeded", done["error"]
    training = done["metrics"]["training"]
    resumed_at = int(training["resumed_from"].rsplit("-", 1)[1])
    assert 20 <= resumed_at < 100 and resumed_at % 20 == 0  # 20 if the kill fell inside the save of 40
    assert "removing" in (run_dir / "train.log").read_text() and "checkpoint-100: written only in part" in \
        (run_dir / "train.log").read_text()
    assert training["global_step"] == training["max_steps"] == 120 == done["step"]
    logged = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert logged[-1] == 120
    state = json.loads((run_dir / "checkpoints" / "checkpoint-120" / "trainer_state.json").read_text())
    assert state["global_step"] == 120 and [e["step"] for e in state["log_history"] if "loss" in e] == \
        list(range(10, 121, 10))


def test_service_side_never_imports_torch():
    code = ("import sys, curator.api.app, curator.cli, curator.training_jobs, trainer.config, trainer.version; "
            "sys.exit('torch' in sys.modules or 'transformers' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
