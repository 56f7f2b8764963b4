"""The stages of a training run after the export is read, one function each, in the order
``status.json`` reports them: data (pre-flight), model, baseline, train, evaluate, merge, card.

A :class:`Run` carries the inputs every stage reads; :class:`Data` what the data stage
prepares for the others. Each stage returns what the next ones need, so the caller can drop
the model and trainer (and free the GPU) before the merge loads the merged model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .config import TrainConfig
from .data import Preflight, preflight_and_tokenize
from .errors import TrainerError
from .evaluate import comparison_table, generate, score_outputs, test_prompts
from .model import attach_lora, load_base, load_tokenizer, world_size
from .pairwise import write_pairwise
from .status import Status, console
from .train import build_trainer, loss_curve, train, write_json
from .version import Export

if TYPE_CHECKING:
    from .tracking import Tracking


@dataclass
class Run:
    """The inputs of one run, read by every stage."""
    export: Export
    export_dir: Path
    base_model: str
    config: TrainConfig
    run_dir: Path
    name: str
    status: Status
    tracking: Tracking


@dataclass
class Data:
    """The tokenized splits and the pre-flight report (with its printed lines)."""
    tokenizer: Any
    report: Preflight
    rows: dict[str, list[dict]]
    lines: list[str]


@dataclass
class Evaluation:
    """The test prompts, their references and the base and fine-tuned scores."""
    prompts: list[list[dict]]
    references: list[str]
    table: list[dict] | None = None
    base: dict | None = None
    tuned: dict | None = None


def stages(run: Run) -> dict:
    """Every stage after reading the export; returns ``result.json``'s content."""
    data = prepare_data(run)
    model, quantized, quantization = load_model(run)
    ev = Evaluation(*test_prompts(run.export.splits["test"], data.report.system_prompt, run.config.eval_limit))
    distributed = world_size() > 1
    baseline = measure_baseline(run, data, model, ev, distributed)
    trainer, training = train_adapter(run, data, model, quantized, baseline, distributed)
    if distributed:  # the one-GPU finishing run continues the same tracked run (tracking.json)
        run.tracking.finish(None, [run.run_dir / "loss.json"], status="FINISHED")
        return finish_distributed(trainer, data.tokenizer, run.run_dir, training)
    adapter_dir, curves = save_adapter(run, data, trainer, training)
    evaluate(run, data, trainer.model, baseline, ev)
    result = result_record(run, data, quantized, quantization, training, curves, baseline, ev, adapter_dir)
    del trainer, model
    _free_gpu()
    modelfile_path = vllm = None
    if run.config.merge:
        modelfile_path, vllm = merge(run, data, adapter_dir, ev, result)
    return write_card(run, data, result, ev.table, modelfile_path, vllm)


def _free_gpu() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def prepare_data(run: Run) -> Data:
    """Tokenize the splits and run the pre-flight check; a refused check stops the run."""
    tokenizer = load_tokenizer(run.base_model, run.config)
    report, rows = preflight_and_tokenize(tokenizer, run.export.splits, run.config)
    lines = report.lines()
    write_json(run.run_dir / "preflight.json", report.as_dict() | {"lines": lines})
    for line in lines:
        console.print(line)
    if not report.ok:
        raise TrainerError("pre-flight refused the run: " + "; ".join(report.problems))
    return Data(tokenizer, report, rows, lines)


def load_model(run: Run) -> tuple[Any, bool, str]:
    """The base model, whether it is quantized, and a line saying how."""
    run.status.stage("model")
    config = run.config
    model, quantized, reason = load_base(run.base_model, config)
    quantization = (f"QLoRA: 4-bit {config.bnb_4bit_quant_type}, double quant "
                    f"{config.bnb_4bit_use_double_quant}, compute {config.compute_dtype} ({reason})"
                    if quantized else f"plain LoRA, full-precision base ({reason})")
    console.print(quantization)
    return model, quantized, quantization


def measure_baseline(run: Run, data: Data, model, ev: Evaluation, distributed: bool) -> dict:
    """The base model's test answers; a resumed run keeps those measured before any training."""
    baseline_path = run.run_dir / "baseline.json"
    if baseline_path.exists():
        return json.loads(baseline_path.read_text())
    if distributed:  # sharded models do not generate; see finish_distributed
        return {}
    run.status.stage("baseline")
    return {"outputs": generate(model, data.tokenizer, ev.prompts, run.config.eval_max_new_tokens)}


def train_adapter(run: Run, data: Data, model, quantized: bool, baseline: dict, distributed: bool):
    """Attach LoRA, measure the base eval loss (once) and train; returns the trainer and its figures."""
    run.status.stage("train")
    model = attach_lora(model, run.config, quantized)
    trainer = build_trainer(model, data.tokenizer, data.rows, run.config, run.run_dir, quantized, run.tracking)
    if "eval_loss" not in baseline:  # LoRA B starts at zero: the model is still the base here
        baseline["eval_loss"] = trainer.evaluate()["eval_loss"]
        if not distributed:
            write_json(run.run_dir / "baseline.json", baseline)
    return trainer, train(trainer, run.run_dir)


def save_adapter(run: Run, data: Data, trainer, training: dict) -> tuple[Path, dict]:
    """Throughput into ``training``, the adapter and tokenizer saved, and the loss curves."""
    config, rows = run.config, data.rows
    trained_tokens = sum(len(r["input_ids"]) for r in rows["train"]) / len(rows["train"]) * (
        training["global_step"] * config.per_device_train_batch_size * config.gradient_accumulation_steps
        * trainer.args.world_size)
    training["train_tokens_per_second"] = trained_tokens / max(training["train_seconds"], 1e-9)
    adapter_dir = run.run_dir / "adapter"
    trainer.model.save_pretrained(adapter_dir)
    data.tokenizer.save_pretrained(adapter_dir)
    return adapter_dir, loss_curve(trainer.state.log_history, run.run_dir)


def evaluate(run: Run, data: Data, tuned_model, baseline: dict, ev: Evaluation) -> None:
    """Score base and fine-tuned answers on the test prompts; write the examples and pairwise tasks."""
    base_scores, base_rows = score_outputs(baseline["outputs"], ev.references)
    run.status.stage("evaluate")
    tuned_out = generate(tuned_model, data.tokenizer, ev.prompts, run.config.eval_max_new_tokens)
    tuned_scores, tuned_rows = score_outputs(tuned_out, ev.references)
    ev.table = comparison_table(ev.prompts, ev.references, baseline["outputs"], base_rows, tuned_out, tuned_rows)
    ev.base, ev.tuned = base_scores, tuned_scores
    with (run.run_dir / "eval_examples.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in ev.table)
    console.print(f"test: base {base_scores} -> fine-tuned {tuned_scores}")
    write_pairwise(ev.table, run.run_dir, run.config.seed)


def result_record(run: Run, data: Data, quantized: bool, quantization: str, training: dict, curves: dict,
                  baseline: dict, ev: Evaluation, adapter_dir: Path) -> dict:
    """``result.json``'s content before the merge and the card add theirs."""
    manifest, run_dir = run.export.manifest, run.run_dir
    return {"name": run.name, "base_model": run.base_model, "export_dir": str(run.export_dir),
            "version_id": manifest.get("version_id"), "version_ref": run.export.ref,
            "content_hash": manifest.get("content_hash"), "quantized": quantized,
            "quantization": quantization, "training": training,
            "loss": {k: v[-1][1] if v else None for k, v in curves.items()},
            "eval": {"n": len(ev.prompts), "n_validation": len(data.rows["validation"]), "base": ev.base,
                     "tuned": ev.tuned, "base_eval_loss": baseline["eval_loss"],
                     "tuned_eval_loss": training["best_eval_loss"]},
            "artifacts": {"adapter": str(adapter_dir), "loss_png": str(run_dir / "loss.png"),
                          "examples": str(run_dir / "eval_examples.jsonl"),
                          "pairwise_tasks": str(run_dir / "pairwise_tasks.json")}}


def merge(run: Run, data: Data, adapter_dir: Path, ev: Evaluation, result: dict) -> tuple[Path, str]:
    """Merge the adapter, check the exported folder answers as the adapter did (``export_parity``;
    a mismatch fails the stage), score what deployment serves and write the Modelfile and the
    vLLM command; returns both."""
    from .merge import merge_adapter, modelfile, vllm_command

    run.status.stage("merge")
    config, tokenizer = run.config, data.tokenizer
    merged_dir = merge_adapter(run.base_model, adapter_dir, run.run_dir / "merged", config, tokenizer)
    parity = check_parity(run, data, adapter_dir, ev, result, merged_dir)
    result["eval"]["merged"], _ = score_outputs(parity.pop("outputs"), ev.references)
    _free_gpu()
    modelfile_path = run.run_dir / "Modelfile"
    modelfile_path.write_text(modelfile(merged_dir, config, tokenizer, data.report.system_prompt), encoding="utf-8")
    vllm = vllm_command(merged_dir, run.name, config)
    (run.run_dir / "vllm_serve.sh").write_text("#!/bin/sh\nexec " + vllm + "\n", encoding="utf-8")
    result["artifacts"].update(merged=str(merged_dir), modelfile=str(modelfile_path), vllm_serve=vllm)
    return modelfile_path, vllm


def check_parity(run: Run, data: Data, adapter_dir: Path, ev: Evaluation, result: dict, merged_dir: Path) -> dict:
    """The exported folder against the adapter's evaluation answers: token for token when the
    merged weights are the ones evaluated (a full-precision run, or ``merge_base: dequantized``;
    ``parity_tolerance`` allows for a GPU's compute dtype).
    When 4-bit training is merged into the original full weights, quantisation differs: the folder
    must then match the adapter on that full-precision base exactly, and its agreement with the
    evaluation answers must stay within ``parity_tolerance`` (recorded only when unset). Writes
    ``parity.json`` and ``result["parity"]``; a failed check raises with the first difference."""
    from .merge import export_parity

    config = run.config
    evaluated = [row["tuned_output"] for row in ev.table]
    same_weights = not result["quantized"] or config.merge_base == "dequantized"
    if same_weights:
        parity = export_parity(merged_dir, ev.prompts, evaluated, data.tokenizer, config.eval_max_new_tokens,
                               config.parity_tolerance or 0.0)
        parity["reference"] = "the adapter's evaluation answers (same weights)"
    else:
        parity = export_parity(merged_dir, ev.prompts, _adapter_on_full_base(run, data, adapter_dir, ev),
                               data.tokenizer, config.eval_max_new_tokens)
        parity["reference"] = "the adapter on the full-precision base (quantisation differs from evaluation)"
        agree = sum(o == e for o, e in zip(parity["outputs"], evaluated))
        parity["evaluation_agreement"] = {"matched": agree, "prompts": len(evaluated), "tolerance": config.parity_tolerance}
        if config.parity_tolerance is not None and len(evaluated) - agree > config.parity_tolerance * len(evaluated):
            parity["ok"] = False
            i = next(i for i, (o, e) in enumerate(zip(parity["outputs"], evaluated)) if o != e)
            parity["first_difference"] = {"index": i, "prompt": ev.prompts[i][-1]["content"], "expected": evaluated[i],
                                          "exported": parity["outputs"][i], "template_differs": False}
    record = {k: v for k, v in parity.items() if k != "outputs"}
    write_json(run.run_dir / "parity.json", record)
    result["parity"] = record
    console.print(f"export parity: {parity['matched']} of {parity['prompts']} test prompts answered as "
                  f"{parity['reference']}" + ("" if parity["template_identical"] else "; the exported chat template "
                                              "renders prompts differently"))
    if not parity["ok"]:
        d = parity["first_difference"]
        raise TrainerError(f"export parity failed: the merged model in {merged_dir} answers {len(parity['differing'])} "
                           f"of {parity['prompts']} test prompts differently from {parity['reference']}"
                           + ("" if parity["template_identical"] else " and its chat template renders them differently")
                           + f"; first, test prompt {d['index']} {d['prompt']!r}: expected {d['expected']!r}, "
                           f"exported model {d['exported']!r}")
    return parity


def _adapter_on_full_base(run: Run, data: Data, adapter_dir: Path, ev: Evaluation) -> list[str]:
    """Greedy answers of the saved adapter on the original full-precision base: what the merged
    weights must reproduce exactly."""
    from peft import PeftModel

    base, _, _ = load_base(run.base_model, run.config, quantize=False)
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    outputs = generate(model, data.tokenizer, ev.prompts, run.config.eval_max_new_tokens)
    del model, base
    _free_gpu()
    return outputs


def write_card(run: Run, data: Data, result: dict, table: list[dict], modelfile_path: Path | None,
               vllm: str | None) -> dict:
    """Write the run card, close the tracked run and write ``result.json``."""
    from .card import run_card

    run_dir = run.run_dir
    result["tracking"] = dict(run.tracking.state)  # the card and GET /training-runs/{id} link to it
    card = run_card(result, run.config.model_dump(mode="json"), run.export.manifest,
                    data.report.as_dict() | {"lines": data.lines}, table, modelfile_path, vllm)
    (run_dir / "RUN_CARD.md").write_text(card, encoding="utf-8")
    if (run_dir / "merged").is_dir():  # the model card travels with the weights (a Hub repo's README)
        (run_dir / "merged" / "README.md").write_text(card, encoding="utf-8")
    result["artifacts"]["run_card"] = str(run_dir / "RUN_CARD.md")
    tracked = [run_dir / f for f in ("RUN_CARD.md", "loss.png", "loss.json", "eval_examples.jsonl", "config.yaml",
                                     "Modelfile")]
    result["tracking"] = run.tracking.finish(result, tracked)
    write_json(run_dir / "result.json", result)
    return result


def finish_distributed(trainer, tokenizer, run_dir: Path, training: dict) -> dict:
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
