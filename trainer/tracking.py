"""Experiment tracking for a run: TensorBoard event files, an MLflow run, W&B offline.

Engineers compare runs in the tracker they already use, so a run reports there as well as into
its own directory. TensorBoard and MLflow are driven here directly (``SummaryWriter``, the
``MlflowClient``) rather than through transformers' ``report_to`` callbacks, because the run
must log what those callbacks do not know: the dataset version as the run's input (name, content
hash, manifest), the base-vs-tuned comparison, and the run card, Modelfile and eval table as
artifacts; and a resumed run must continue the same MLflow run (its id is kept in
``tracking.json``). Weights & Biases goes through transformers' own callback in offline mode
when its package is installed (nothing leaves the machine).

MLflow's default store is a local file store beside the runs (``STATE_DIR/training/mlruns``):
MLflow 3 keeps the file backend in maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``, which is
set for it here; any tracking server is reached by ``tracking_uri``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

from transformers import TrainerCallback

from .config import TrainConfig

STATE_FILE = "tracking.json"


def _flat(prefix: str, value, out: dict) -> dict:
    """Nested config / manifest fields as MLflow params (``a.b``: text, at most 6000 chars)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return out


def _main_process() -> bool:
    """Rank 0 under torchrun / accelerate (``RANK``), or a single process."""
    return int(os.environ.get("RANK", "0")) == 0


class Tracking:
    """The trackers one run reports to; every method is a no-op for a tracker not asked for."""

    def __init__(self, config: TrainConfig, run_dir: Path, name: str):
        self.config, self.run_dir, self.name = config, run_dir, name
        self.state = self._load()
        self.tensorboard = None
        self.mlflow = None
        self.mlflow_run_id = None
        self.notes: list[str] = []

    def _load(self) -> dict:
        path = self.run_dir / STATE_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def _save(self) -> None:
        if not _main_process():
            return
        (self.run_dir / STATE_FILE).write_text(json.dumps(self.state, indent=2), encoding="utf-8")

    def start(self, base_model: str, manifest: dict, export_dir: Path) -> None:
        """Open the trackers and log the run's parameters and its dataset version as input."""
        if not _main_process():  # multi-process: the main process alone reports
            return
        if "tensorboard" in self.config.report_to:
            from torch.utils.tensorboard import SummaryWriter

            log_dir = self.run_dir / "tensorboard"
            self.tensorboard = SummaryWriter(log_dir=str(log_dir))
            self.state["tensorboard"] = {"log_dir": str(log_dir)}
        if "mlflow" in self.config.report_to:
            self._start_mlflow(base_model, manifest, export_dir)
        if "wandb" in self.config.report_to and importlib.util.find_spec("wandb") is None:
            self.notes.append("report_to wandb: the wandb package is not installed; not reported there")
        self._save()

    def _start_mlflow(self, base_model: str, manifest: dict, export_dir: Path) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag, Param
        from mlflow.tracking import MlflowClient

        uri = self.config.tracking_uri or (self.run_dir.parent / "mlruns").resolve().as_uri()
        if uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.mlflow = client = MlflowClient(tracking_uri=uri)
        known = self.state.get("mlflow", {})
        if known.get("run_id") and known.get("tracking_uri") == uri:  # a resumed run continues its MLflow run
            self.mlflow_run_id = known["run_id"]
            client.update_run(self.mlflow_run_id, status="RUNNING")
            return
        experiment = self.config.tracking_project or manifest.get("name") or "curator"
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
        run = client.create_run(experiment_id, run_name=self.name,
                                tags={"curator.dataset": str(manifest.get("ref")), "curator.run_dir": str(self.run_dir)})
        self.mlflow_run_id = run.info.run_id
        params = _flat("config", self.config.model_dump(mode="json"), {})
        params |= {"base_model": base_model, "dataset.ref": str(manifest.get("ref")),
                   "dataset.content_hash": str(manifest.get("content_hash")),
                   "dataset.version_id": str(manifest.get("version_id"))}
        params |= {f"dataset.{s}_count": str(v.get("count")) for s, v in manifest.get("splits", {}).items()}
        client.log_batch(self.mlflow_run_id, params=[Param(k, v[:6000]) for k, v in sorted(params.items())])
        dataset = Dataset(name=str(manifest.get("ref")), digest=str(manifest.get("content_hash"))[:36],
                          source_type="local", source=json.dumps({"uri": str(export_dir.resolve())}),
                          profile=json.dumps({s: v.get("count") for s, v in manifest.get("splits", {}).items()}))
        client.log_inputs(self.mlflow_run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])])
        self.state["mlflow"] = {"tracking_uri": uri, "experiment_id": experiment_id, "experiment": experiment,
                                "run_id": self.mlflow_run_id}

    def log_metrics(self, metrics: dict, step: int) -> None:
        """Numbers only (``loss``, ``eval_loss``, ``learning_rate``…), at an optimizer step."""
        numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if not numbers:
            return
        if self.tensorboard is not None:
            for k, v in numbers.items():
                self.tensorboard.add_scalar(k, v, step)
            self.tensorboard.flush()
        if self.mlflow is not None:
            from mlflow.entities import Metric

            now = int(time.time() * 1000)
            self.mlflow.log_batch(self.mlflow_run_id, metrics=[Metric(k, v, now, step) for k, v in numbers.items()])

    def finish(self, result: dict | None, artifacts: list[Path], status: str = "FINISHED") -> dict:
        """Log the test comparison and artifacts, close the trackers; return where the run lives."""
        if result:
            step = result.get("training", {}).get("global_step", 0)
            ev = result.get("eval", {})
            self.log_metrics({f"test/{model}/{m}": v for model in ("base", "tuned", "merged")
                              for m, v in (ev.get(model) or {}).items()}, step)
        if self.mlflow is not None:
            for path in artifacts:
                if path.is_file():
                    self.mlflow.log_artifact(self.mlflow_run_id, str(path))
            self.mlflow.set_terminated(self.mlflow_run_id, status=status)
        if self.tensorboard is not None:
            self.tensorboard.close()
        self._save()
        return dict(self.state)


class TrackingCallback(TrainerCallback):
    """Every ``Trainer`` log entry (train loss per logging step, eval loss per evaluation) to the trackers."""

    def __init__(self, tracking: Tracking):
        self.tracking = tracking

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            self.tracking.log_metrics(logs, state.global_step)


def transformers_report_to(config: TrainConfig) -> list[str]:
    """What ``TrainingArguments.report_to`` gets: W&B (offline) when asked for and installed; the
    others are ours (``Tracking``)."""
    if "wandb" in config.report_to and importlib.util.find_spec("wandb") is not None:
        os.environ.setdefault("WANDB_MODE", "offline")
        if config.tracking_project:
            os.environ.setdefault("WANDB_PROJECT", config.tracking_project)
        return ["wandb"]
    return ["none"]
