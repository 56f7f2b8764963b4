"""One training run, start to finish, in its own directory (re-running it resumes):

config -> read the export -> pre-flight -> load base -> baseline on test -> LoRA -> train ->
fine-tuned on test -> merge -> Modelfile, vLLM command, run card.

Every stage is written to ``status.json`` so the job runner (``curator.training_jobs``), which
holds the DuckDB store, can follow the run without importing torch.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .config import TrainConfig
from .errors import TrainerError
from .stages import Run, stages
from .status import Status, console

log = logging.getLogger("trainer")


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
        return stages(Run(export, export_dir, base_model, config, run_dir, name, status, tracking))
    except BaseException:
        tracking.finish(None, [], status="FAILED")
        raise
