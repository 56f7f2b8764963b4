"""The run card: what was trained on, how, and whether it helped (markdown, next to the weights)."""

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


def run_card(result: dict, config: dict, manifest: dict, preflight: dict, examples: list[dict],
             modelfile_path: Path | None, vllm: str | None, max_rows: int = 20) -> str:
    base, tuned = result["eval"]["base"], result["eval"]["tuned"]
    training = result["training"]
    lines = [f"# Run card: {result['name']}", "",
             f"- data version: `{manifest.get('ref')}` (id {manifest.get('version_id')}), content hash "
             f"`{manifest.get('content_hash')}`, approved by {manifest.get('approver')}",
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
    return "\n".join(lines) + "\n"
