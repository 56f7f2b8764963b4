"""One training run, start to finish, in its own directory (re-running it resumes):

config -> read the export -> pre-flight -> load base -> baseline on test -> LoRA -> train ->
fine-tuned on test -> merge -> Modelfile, vLLM command, run card.

Every stage is written to ``status.json`` so the job runner (``curator.training_jobs``), which
holds the DuckDB store, can follow the run without importing torch.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from rich.console import Console

from .config import TrainConfig
from .errors import TrainerError
from .train import write_json

log = logging.getLogger("trainer")
console = Console(stderr=True, highlight=False)


class Status:
    """``status.json``: state, stage, pid, error, timestamps."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "status.json"
        self.data = {"state": "running", "stage": "starting", "pid": os.getpid(), "started_at": time.time(),
                     "error": None}

    def stage(self, name: str) -> None:
        self.data.update(stage=name, updated_at=time.time())
        write_json(self.path, self.data)
        console.print(f"[bold]== {name}[/bold]")

    def finish(self, state: str, error: str | None = None) -> None:
        self.data.update(state=state, error=error, finished_at=time.time(), updated_at=time.time())
        write_json(self.path, self.data)


def run(export_dir: Path, base_model: str, config: TrainConfig, run_dir: Path, name: str | None = None) -> dict:
    """Run (or resume) the whole pipeline; returns ``result.json``'s content."""
    run_dir.mkdir(parents=True, exist_ok=True)
    status = Status(run_dir)
    try:
        result = _run(export_dir, base_model, config, run_dir, name or run_dir.name, status)
    except BaseException as exc:
        status.finish("failed", f"{type(exc).__name__}: {exc}" if not isinstance(exc, TrainerError) else str(exc))
        raise
    status.finish("succeeded")
    return result


def _run(export_dir: Path, base_model: str, config: TrainConfig, run_dir: Path, name: str, status: Status) -> dict:
    import torch

    from .version import read_export

    torch.manual_seed(config.seed)
    config.save(run_dir / "config.yaml")

    status.stage("data")
    export = read_export(export_dir)
    from .tracking import Tracking

    tracking = Tracking(config, run_dir, name)
    tracking.start(base_model, export.manifest, export_dir)
    for note in tracking.notes:
        console.print(note)
    try:
        return _stages(export, export_dir, base_model, config, run_dir, name, status, tracking)
    except BaseException:
        tracking.finish(None, [], status="FAILED")
        raise


def _stages(export, export_dir: Path, base_model: str, config: TrainConfig, run_dir: Path, name: str,
            status: Status, tracking) -> dict:
    import torch

    from .data import preflight_and_tokenize
    from .evaluate import comparison_table, generate, score_outputs, test_prompts
    from .model import attach_lora, load_base, load_tokenizer
    from .model import device as model_device
    from .model import full_dtype

    tokenizer = load_tokenizer(base_model, config)
    report, rows = preflight_and_tokenize(tokenizer, export.splits, config)
    lines = report.lines()
    write_json(run_dir / "preflight.json", report.as_dict() | {"lines": lines})
    for line in lines:
        console.print(line)
    if not report.ok:
        raise TrainerError("pre-flight refused the run: " + "; ".join(report.problems))

    status.stage("model")
    model, quantized, reason = load_base(base_model, config)
    quantization = (f"QLoRA: 4-bit {config.bnb_4bit_quant_type}, double quant "
                    f"{config.bnb_4bit_use_double_quant}, compute {config.compute_dtype} ({reason})"
                    if quantized else f"plain LoRA, full-precision base ({reason})")
    console.print(quantization)
    prompts, references = test_prompts(export.splits["test"], report.system_prompt, config.eval_limit)

    from .model import world_size

    distributed = world_size() > 1
    baseline_path = run_dir / "baseline.json"
    if baseline_path.exists():  # a resumed run keeps the baseline measured before any training
        baseline = json.loads(baseline_path.read_text())
    elif distributed:  # sharded models do not generate; see _finish_distributed
        baseline = {}
    else:
        status.stage("baseline")
        base_out = generate(model, tokenizer, prompts, config.eval_max_new_tokens)
        baseline = {"outputs": base_out}

    status.stage("train")
    from .train import build_trainer, loss_curve, train

    model = attach_lora(model, config, quantized)
    trainer = build_trainer(model, tokenizer, rows, config, run_dir, quantized, tracking)
    if "eval_loss" not in baseline:  # LoRA B starts at zero: the model is still the base here
        baseline["eval_loss"] = trainer.evaluate()["eval_loss"]
        if not distributed:
            write_json(baseline_path, baseline)
    training = train(trainer, run_dir)
    if distributed:  # the one-GPU finishing run continues the same tracked run (tracking.json)
        tracking.finish(None, [run_dir / "loss.json"], status="FINISHED")
        return _finish_distributed(trainer, tokenizer, run_dir, training)
    base_scores, base_rows = score_outputs(baseline["outputs"], references)
    trained_tokens = sum(len(r["input_ids"]) for r in rows["train"]) / len(rows["train"]) * (
        training["global_step"] * config.per_device_train_batch_size * config.gradient_accumulation_steps
        * trainer.args.world_size)
    training["train_tokens_per_second"] = trained_tokens / max(training["train_seconds"], 1e-9)
    adapter_dir = run_dir / "adapter"
    trainer.model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    curves = loss_curve(trainer.state.log_history, run_dir)

    status.stage("evaluate")
    tuned_out = generate(trainer.model, tokenizer, prompts, config.eval_max_new_tokens)
    tuned_scores, tuned_rows = score_outputs(tuned_out, references)
    table = comparison_table(prompts, references, baseline["outputs"], base_rows, tuned_out, tuned_rows)
    with (run_dir / "eval_examples.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in table)
    console.print(f"test: base {base_scores} -> fine-tuned {tuned_scores}")
    from .pairwise import write_pairwise

    write_pairwise(table, run_dir, config.seed)

    result = {"name": name, "base_model": base_model, "export_dir": str(export_dir),
              "version_id": export.manifest.get("version_id"), "version_ref": export.ref,
              "content_hash": export.manifest.get("content_hash"), "quantized": quantized,
              "quantization": quantization, "training": training,
              "loss": {k: v[-1][1] if v else None for k, v in curves.items()},
              "eval": {"n": len(prompts), "n_validation": len(rows["validation"]), "base": base_scores, "tuned": tuned_scores,
                       "base_eval_loss": baseline["eval_loss"], "tuned_eval_loss": training["best_eval_loss"]},
              "artifacts": {"adapter": str(adapter_dir), "loss_png": str(run_dir / "loss.png"),
                            "examples": str(run_dir / "eval_examples.jsonl"),
                            "pairwise_tasks": str(run_dir / "pairwise_tasks.json")}}
    del trainer, model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    modelfile_path = vllm = None
    if config.merge:
        status.stage("merge")
        from .merge import merge_adapter, modelfile, vllm_command

        merged_dir = merge_adapter(base_model, adapter_dir, run_dir / "merged", config, tokenizer)
        # score what deployment serves: the merged full-precision model
        from transformers import AutoModelForCausalLM

        merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=full_dtype()).to(model_device())
        result["eval"]["merged"], _ = score_outputs(
            generate(merged, tokenizer, prompts, config.eval_max_new_tokens), references)
        del merged
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        modelfile_path = run_dir / "Modelfile"
        modelfile_path.write_text(modelfile(merged_dir, config, tokenizer, report.system_prompt), encoding="utf-8")
        vllm = vllm_command(merged_dir, name, config)
        (run_dir / "vllm_serve.sh").write_text("#!/bin/sh\nexec " + vllm + "\n", encoding="utf-8")
        result["artifacts"].update(merged=str(merged_dir), modelfile=str(modelfile_path), vllm_serve=vllm)

    from .card import run_card

    result["tracking"] = dict(tracking.state)  # the card and GET /training-runs/{id} link to it
    card = run_card(result, config.model_dump(mode="json"), export.manifest, report.as_dict() | {"lines": lines},
                    table, modelfile_path, vllm)
    (run_dir / "RUN_CARD.md").write_text(card, encoding="utf-8")
    result["artifacts"]["run_card"] = str(run_dir / "RUN_CARD.md")
    tracked = [run_dir / f for f in ("RUN_CARD.md", "loss.png", "loss.json", "eval_examples.jsonl", "config.yaml",
                                     "Modelfile")]
    result["tracking"] = tracking.finish(result, tracked)
    write_json(run_dir / "result.json", result)
    return result


def _finish_distributed(trainer, tokenizer, run_dir: Path, training: dict) -> dict:
    """Multi-GPU runs stop after training: the main process saves the adapter and the final
    checkpoint; running the same command on one GPU with the same ``--run-dir`` then measures the
    baseline, resumes at the last step (no further training), compares and merges."""
    trainer.save_model(str(run_dir / "adapter"))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(run_dir / "adapter")
        write_json(run_dir / "trained_distributed.json", training)
        console.print("multi-process training done; run the same `python -m trainer run` on one GPU with "
                      f"--run-dir {run_dir} to measure the baseline, compare on the test split and merge")
    return {"training": training}
