"""``curator train`` and ``curator training …``: start a fine-tuning run on an exported, approved
version and follow it. The run is its own process (``python -m trainer run``); this CLI never
imports torch and holds the store only while it writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .audit import cli_actor
from .cli import JsonOpt, _emit_json, err, friendly, out
from .config import get_settings
from .store import open_store
from .training_jobs import summary

training_app = typer.Typer(help="Training runs: list, show (status, metrics, log tail), cancel, resume.",
                           no_args_is_help=True)


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
    for name, path in (data["artifacts"] or {}).items():
        out.print(f"  {name}: {path}", highlight=False)
    if data["status"] != "succeeded" and data["log_tail"]:
        out.print("log tail:\n  " + "\n  ".join(data["log_tail"][-8:]), highlight=False)


def _follow(run_dir: str, pid: int, quiet: bool) -> None:
    from .training_jobs import follow

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                  TimeRemainingColumn(), console=err, disable=quiet) as progress:
        bar = progress.add_task("starting", total=None)

        def update(info: dict) -> None:
            loss = "" if info.get("loss") is None else f" loss {info['loss']:.3f}"
            progress.update(bar, description=f"{info.get('stage', 'starting')}{loss}",
                            completed=info.get("step") or 0, total=info.get("max_steps") or None)

        follow(run_dir, pid, update)


def _finish(conn, settings, run_id: int, detach: bool, as_json: bool) -> None:
    """Follow the run unless detached (the store stays free while it trains), then report it."""
    from .training_jobs import log_tail, refresh

    row = refresh(conn, run_id)
    if not detach:
        conn.close()
        _follow(row["run_dir"], row["pid"], as_json or not err.is_terminal)
        conn = open_store(settings.db)
        row = refresh(conn, run_id)
    data = summary(row, log_tail(row["run_dir"]))
    _emit_json(data) if as_json else _print_run(data)
    if row["status"] == "failed":
        raise typer.Exit(1)


@friendly
def train(
    target: Annotated[str, typer.Argument(help="an approved version NAME@N, or a directory written by "
                                               "`curator export NAME@N --format openai`")],
    base_model: Annotated[str, typer.Option(help="local model folder or hub id")],
    config: Annotated[Optional[Path], typer.Option(help="YAML training config (unknown keys are errors)")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="override the config's max_steps")] = None,
    detach: Annotated[bool, typer.Option("--detach", help="start the run and return its id")] = False,
    as_json: JsonOpt = False,
):
    """Fine-tune (QLoRA) on an approved version (NAME@N or its export): pre-flight, baseline, train, compare, merge."""
    from trainer.config import TrainConfig

    from .training_jobs import start_run, start_version_run

    settings = get_settings()
    cfg = TrainConfig.load(config, {"max_steps": max_steps} if max_steps is not None else None)
    conn = open_store(settings.db)
    if Path(target).is_dir() or "@" not in target:
        run_id = start_run(conn, Path(target), base_model, cfg.model_dump(), actor=cli_actor())
    else:
        run_id = start_version_run(conn, target, base_model, cfg.model_dump(), actor=cli_actor())
    _finish(conn, settings, run_id, detach, as_json)


@training_app.command("list")
@friendly
def training_list(limit: Annotated[int, typer.Option(help="newest N runs")] = 50, as_json: JsonOpt = False):
    """Training runs, newest first."""
    from .training_jobs import list_runs, refresh

    conn = open_store(get_settings().db)
    found = [refresh(conn, r["id"]) for r in list_runs(conn, limit)]
    if as_json:
        _emit_json([summary(r, []) for r in found])
        return
    table = Table("id", "version", "base model", "status", "stage", "step", "created")
    for r in found:
        table.add_row(str(r["id"]), r["version_ref"], r["base_model"][-40:], r["status"], r["stage"] or "",
                      f"{r['step'] or 0}/{r['max_steps'] or '?'}", str(r["created_at"])[:19])
    out.print(table)


@training_app.command("show")
@friendly
def training_show(run_id: int, as_json: JsonOpt = False):
    """Status, metrics, artifacts and the log tail of one run."""
    from .training_jobs import log_tail, refresh

    row = refresh(open_store(get_settings().db), run_id)
    data = summary(row, log_tail(row["run_dir"]))
    _emit_json(data) if as_json else _print_run(data)


@training_app.command("cancel")
@friendly
def training_cancel(run_id: int, as_json: JsonOpt = False):
    """Stop a run (SIGTERM, then SIGKILL); its checkpoints stay for `training resume`."""
    from .training_jobs import cancel, log_tail

    row = cancel(open_store(get_settings().db), run_id, actor=cli_actor())
    data = summary(row, log_tail(row["run_dir"]))
    _emit_json(data) if as_json else _print_run(data)


@training_app.command("resume")
@friendly
def training_resume(run_id: int, detach: Annotated[bool, typer.Option("--detach")] = False, as_json: JsonOpt = False):
    """Continue a failed or cancelled run from its newest checkpoint."""
    from .training_jobs import resume_run

    settings = get_settings()
    conn = open_store(settings.db)
    resume_run(conn, run_id, actor=cli_actor())
    _finish(conn, settings, run_id, detach, as_json)
