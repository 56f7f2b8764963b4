"""The run card: what was trained on, how, and whether it helped, as a Hugging Face model card
(YAML metadata: base model, dataset version and its card's hash, training config, evaluation;
then prose), written next to the weights and into the merged folder as its README.md."""

from __future__ import annotations

from pathlib import Path

import yaml


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _tracking(tracking: dict) -> list[str]:
    """Where the run was tracked: the MLflow run (URI, experiment, run id) and TensorBoard logs."""
    lines = []
    if "mlflow" in tracking:
        m = tracking["mlflow"]
        lines.append(f"- MLflow: run `{m['run_id']}` in experiment `{m['experiment']}` at `{m['tracking_uri']}` "
                     f"(`mlflow ui --backend-store-uri {m['tracking_uri']}`)")
    if "tensorboard" in tracking:
        lines.append(f"- TensorBoard: `tensorboard --logdir {tracking['tensorboard']['log_dir']}`")
    return ["", "## Tracking", "", *lines] if lines else []


def _model_index(result: dict, manifest: dict) -> list[dict]:
    """The fine-tuned model's test scores in the Hub's ``model-index`` shape."""
    metrics = [{"type": m, "value": round(v, 4), "name": f"{m} (fine-tuned)"}
               for m, v in (result["eval"].get("tuned") or {}).items()]
    return [{"name": result["name"], "results": [{
        "task": {"type": "text-generation", "name": "Text generation"},
        "dataset": {"type": f"curator/{manifest.get('name')}", "name": f"{manifest.get('ref')} test split",
                    "split": "test"},
        "metrics": metrics}]}]


def metadata(result: dict, config: dict, manifest: dict) -> dict:
    """The model card's YAML header."""
    parity = result.get("parity") or {}
    return {"base_model": result["base_model"], "library_name": "transformers", "pipeline_tag": "text-generation",
            "tags": ["curator", "qlora" if result.get("quantized") else "lora", "sft"],
            "model-index": _model_index(result, manifest),
            "curator": {"dataset_version": manifest.get("ref"), "dataset_content_hash": manifest.get("content_hash"),
                        "dataset_card_sha256": (manifest.get("files") or {}).get("README.md"),
                        "training_config": config,
                        "export_parity": {k: parity[k] for k in ("ok", "prompts", "matched", "reference")
                                          if k in parity} or None}}


def _parity(parity: dict | None) -> list[str]:
    if not parity:
        return ["", "## Export parity", "", "Not checked: the adapter was not merged (`merge: false`)."]
    lines = ["", "## Export parity", "",
             f"The merged folder, loaded fresh with `AutoModelForCausalLM`/`AutoTokenizer` and its own chat template, "
             f"answered **{parity['matched']} of {parity['prompts']}** test prompts exactly as {parity['reference']} "
             f"(greedy); its chat template renders every prompt "
             f"{'as training did' if parity['template_identical'] else 'DIFFERENTLY from training'}."]
    agreement = parity.get("evaluation_agreement")
    if agreement:
        tol = agreement["tolerance"]
        lines.append(f"Against the 4-bit adapter's evaluation answers: {agreement['matched']} of "
                     f"{agreement['prompts']} identical (tolerance "
                     f"{'not set: recorded only' if tol is None else f'{tol:g} of the prompts may differ'}).")
    return lines


def run_card(result: dict, config: dict, manifest: dict, preflight: dict, examples: list[dict],
             modelfile_path: Path | None, vllm: str | None, max_rows: int = 20) -> str:
    base, tuned = result["eval"]["base"], result["eval"]["tuned"]
    training = result["training"]
    lines = [f"# Run card: {result['name']}", "",
             f"- data version: `{manifest.get('ref')}` (id {manifest.get('version_id')}), content hash "
             f"`{manifest.get('content_hash')}`, approved by {manifest.get('approved_by') or manifest.get('approver')}"
             + (f", dataset card sha256 `{manifest['files']['README.md']}`" if "README.md" in (manifest.get("files") or {})
                else ""),
             "- splits: " + ", ".join(f"{k} {v.get('count')}" for k, v in manifest.get("splits", {}).items()),
             f"- base model: `{result['base_model']}`; {result['quantization']}",
             f"- training: {training['global_step']} of {training['max_steps']} optimizer steps"
             f"{' (stopped early)' if training['stopped_early'] else ''}, best validation loss "
             f"{_fmt(training['best_eval_loss'])} (base {_fmt(result['eval'].get('base_eval_loss'))}), "
             f"{training['train_seconds']:.1f} s, {training.get('train_tokens_per_second') or 0:.0f} tokens/s"
             f"{' (this session, after resuming)' if training.get('resumed_from') else ''}",
             "", "## Baseline vs fine-tuned (test split, greedy, "
             f"{config['eval_max_new_tokens']} new tokens at most, {result['eval']['n']} examples)", "",
             "| metric | base | fine-tuned (4-bit base + adapter) | merged (full-precision, as served) |",
             "|---|---|---|---|"]
    merged = result["eval"].get("merged") or {}
    cell3 = lambda m: f"{merged[m]:.3f}" if m in merged else "not merged"  # noqa: E731
    lines += [f"| {m} | {base[m]:.3f} | {tuned[m]:.3f} | {cell3(m)} |" for m in base]
    lines += _parity(result.get("parity"))
    lines += _tracking(result.get("tracking") or {})
    lines += ["", "## Pre-flight", "", "```", *preflight.get("lines", []), "```", "",
              "## Serving", "", f"System prompt (same as training): `{preflight.get('system_prompt')}`", ""]
    if vllm:
        lines += ["```bash", vllm, "```", ""]
    if modelfile_path:
        lines += [f"Ollama: `ollama create {result['name']} -f {modelfile_path}`", ""]
    lines += ["## Config", "", "```yaml", yaml.safe_dump(config, sort_keys=False).rstrip(), "```", "",
              f"## Examples (first {min(max_rows, len(examples))} of {len(examples)}; all in eval_examples.jsonl)",
              "", "| # | prompt | reference | base | fine-tuned |", "|---|---|---|---|---|"]
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")[:120]  # noqa: E731
    lines += [f"| {e['index']} | {cell(e['prompt'])} | {cell(e['reference'])} | {cell(e['base_output'])} | "
              f"{cell(e['tuned_output'])} |" for e in examples[:max_rows]]
    header = yaml.safe_dump(metadata(result, config, manifest), sort_keys=False, allow_unicode=True, width=1000)
    return "---\n" + header + "---\n\n" + "\n".join(lines) + "\n"
