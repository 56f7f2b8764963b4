"""``curator train`` and ``curator training …``: start a fine-tuning run on an approved version
and follow it. The run is its own process (``python -m trainer run``); this CLI never imports
torch, and through a service it follows the run over HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .dispatch import execute, run
from .output import JsonOpt, ProgressDisplay, emit_json, friendly_errors, out

training_app = typer.Typer(help="Training runs: list, show (status, metrics, log tail), cancel, resume.",
                           no_args_is_help=True)
TERMINAL = ("succeeded", "failed", "cancelled")


def _print_run(data: dict) -> None:
    where = [f"stage {data['stage']}"] if data["stage"] else []
    if data["step"] is not None:
        where.append(f"step {data['step']}/{data['max_steps']}")
    out.print(f"run {data['id']} on {data['version']} ({data['base_model']}): {data['status']}"
              + "".join(f", {w}" for w in where), highlight=False)
    if data["error"]:
        out.print(f"error: {data['error']}", highlight=False)
    if data["eval"]:
        ev = data["eval"]
        merged = ev.get("merged") or {}
        table = Table("metric", "base", "fine-tuned (4-bit)", "merged (served)",
                      title=f"test split, {ev['n']} examples")
        for metric in ev["base"]:
            table.add_row(metric, f"{ev['base'][metric]:.3f}", f"{ev['tuned'][metric]:.3f}",
                          f"{merged[metric]:.3f}" if metric in merged else "-")
        table.add_row("validation loss", f"{ev['base_eval_loss']:.4f}", f"{ev['tuned_eval_loss']:.4f}", "")
        out.print(table)
    judge = {r["metric"]: r["value"] for r in data.get("eval_results") or [] if r["metric"].startswith("judge_")}
    if "judge_win_rate" in judge:
        out.print(f"judge (both orders): fine-tuned wins {judge['judge_win_rate']:.1%} (95% CI "
                  f"{judge['judge_win_rate_ci_low']:.1%}–{judge['judge_win_rate_ci_high']:.1%}), ties "
                  f"{judge['judge_tie_rate']:.1%}, loses {judge['judge_loss_rate']:.1%}", highlight=False)
    for name, path in (data["artifacts"] or {}).items():
        out.print(f"  {name}: {path}", highlight=False)
    tracking = data.get("tracking") or {}
    if "mlflow" in tracking:
        out.print(f"  mlflow: run {tracking['mlflow']['run_id']} at {tracking['mlflow']['tracking_uri']}", highlight=False)
    if "tensorboard" in tracking:
        out.print(f"  tensorboard: {tracking['tensorboard']['log_dir']}", highlight=False)
    if data["status"] != "succeeded" and data["log_tail"]:
        out.print("log tail:\n  " + "\n  ".join(data["log_tail"][-8:]), highlight=False)


def _finish(data: dict, detach: bool, as_json: bool) -> None:
    """Follow the run until it ends (unless detached), reading its status as `training show` does
    (locally or through the service), then report it; a failed run exits 1."""
    if not detach:
        with ProgressDisplay("training", as_json) as bar:
            while data["status"] not in TERMINAL:
                time.sleep(1.0)
                data = execute("training.show", {"run_id": data["id"]}, quiet=True)
                bar.update(data["step"] or 0, data["max_steps"], "steps", data["stage"] or "starting")
    emit_json(data) if as_json else _print_run(data)
    if data["status"] == "failed":
        raise typer.Exit(1)


def train(
    version: Annotated[str, typer.Argument(help="an approved version NAME@N, or a directory written by "
                                               "`curator export NAME@N --format openai`")],
    base_model: Annotated[str, typer.Option(help="local model folder or hub id")],
    config: Annotated[Optional[Path], typer.Option(help="YAML training config (unknown keys are errors)")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="override the config's max_steps")] = None,
    detach: Annotated[bool, typer.Option("--detach", help="start the run and return its id")] = False,
    as_json: JsonOpt = False,
):
    """Fine-tune (QLoRA) on an approved version (NAME@N or its export): pre-flight, baseline, train, compare, merge."""
    with friendly_errors():
        from trainer.config import TrainConfig  # torch-free: a config typo is reported before anything starts

        cfg = TrainConfig.load(config, {"max_steps": max_steps} if max_steps is not None else None)
        data = execute("train", {"version": version, "base_model": base_model, "config": cfg.model_dump(mode="json")},
                       quiet=as_json, label="starting")
        _finish(data, detach, as_json)


@training_app.command("list")
def training_list(limit: Annotated[int, typer.Option(help="newest N runs")] = 50, as_json: JsonOpt = False):
    """Training runs, newest first."""

    def render(found: list) -> None:
        table = Table("id", "version", "base model", "status", "stage", "step")
        for r in found:
            table.add_row(str(r["id"]), r["version"], r["base_model"][-40:], r["status"], r["stage"] or "",
                          f"{r['step'] or 0}/{r['max_steps'] or '?'}")
        out.print(table)

    with friendly_errors():
        run("training.list", {"limit": limit}, as_json, render)


@training_app.command("show")
def training_show(run_id: int, as_json: JsonOpt = False):
    """Status, metrics, artifacts and the log tail of one run."""
    with friendly_errors():
        run("training.show", {"run_id": run_id}, as_json, _print_run)


@training_app.command("cancel")
def training_cancel(run_id: int, as_json: JsonOpt = False):
    """Stop a run (SIGTERM, then SIGKILL); its checkpoints stay for `training resume`."""
    with friendly_errors():
        run("training.cancel", {"run_id": run_id}, as_json, _print_run)


@training_app.command("resume")
def training_resume(run_id: int, detach: Annotated[bool, typer.Option("--detach")] = False, as_json: JsonOpt = False):
    """Continue a failed or cancelled run from its newest checkpoint."""
    with friendly_errors():
        _finish(execute("training.resume", {"run_id": run_id}, quiet=as_json), detach, as_json)


def _print_compare(data: dict) -> None:
    """Per consecutive pair of runs: the data delta line, then a table of metric deltas."""
    for step in data["steps"]:
        d = step["data"]
        if "added" in d:
            delta = (f"{d['added']} added, {d['removed']} removed, {d['edited']} edited, {d['moved']} moved, "
                     f"{d['unchanged']} unchanged" + (f" ({d['test_changed']} test examples differ: metrics are on "
                                                      "a changed test split)" if d["test_changed"] else ""))
        else:
            delta = d.get("note") or "same version"
        out.print(f"run {step['from']} ({step['from_version']}) → run {step['to']} ({step['to_version']}): data {delta}",
                  highlight=False, markup=False, soft_wrap=True)
        table = Table("metric", f"run {step['from']}", f"run {step['to']}", "delta")
        for metric, m in step["metrics"].items():
            table.add_row(metric, f"{m['from']:.4f}", f"{m['to']:.4f}", f"{m['delta']:+.4f}")
        out.print(table)


@training_app.command("compare")
def training_compare(run_ids: Annotated[list[int], typer.Argument(help="two or more finished runs, oldest first")],
                     as_json: JsonOpt = False):
    """Runs on versions of one dataset side by side: the data delta (added, removed, edited) next to the metric deltas."""
    with friendly_errors():
        run("training.compare", {"run_ids": run_ids}, as_json, _print_compare)


def _print_judge(r: dict) -> None:
    lo, hi = r["intervals"]["judge_win_rate"]
    out.print(f"run {r['run_id']}: judged {r['n']} of {r['examples']} test examples with {r['judge_model']} in both "
              f"orders: fine-tuned wins {r['win']}, ties {r['tie']}, loses {r['loss']}; win rate "
              f"{(r['judge_win_rate'] or 0):.1%} (95% CI {lo:.1%}–{hi:.1%}); {r['position_consistent']} verdicts "
              f"agree across orders; {r['requests']} requests, {r['cache_hits']} cached, ${r['cost_usd']:.4f}",
              highlight=False, markup=False, soft_wrap=True)
    for b in r["blocked"]:
        out.print(f"  not judged: example {b['idx']}: {b['reason']}", highlight=False, markup=False)


@training_app.command("judge")
def training_judge(run_id: int,
                   max_cost_usd: Annotated[Optional[float], typer.Option(help="stop sending judge requests past this "
                                                                              "spend (default $CURATOR_MAX_COST_USD)")] = None,
                   as_json: JsonOpt = False):
    """A model judge compares base and fine-tuned answers pairwise in both orders: win/tie/loss rates with 95% intervals."""
    with friendly_errors():
        run("training.judge", {"run_id": run_id, "max_cost_usd": max_cost_usd}, as_json, _print_judge)
