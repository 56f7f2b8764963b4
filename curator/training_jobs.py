"""Training runs as separate processes the service tracks: start, follow, cancel, resume.

The run (``python -m trainer run``) writes ``status.json``, ``progress.json``, ``train.log`` and
finally ``result.json`` into its run directory; this module, living in the process that holds
the DuckDB store, copies them into ``training_runs`` / ``eval_results`` / ``eval_examples``.
Nothing here imports torch: the API process must stay light (checked by a test).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import duckdb
import orjson

from .audit import record_audit
from .errors import CuratorError
from .store import rows, transaction
from .sqlfiles import query

TERMINAL = ("succeeded", "failed", "cancelled")
_PROCS: dict[int, subprocess.Popen] = {}  # children of this process, reaped through poll()


class TrainingRunError(CuratorError):
    """No such run, or a run in the wrong state for the request."""


class TrainingRunNotFound(TrainingRunError):
    pass


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):  # not written yet, or mid-replace on another OS
        return None


def log_tail(run_dir: Path | str | None, lines: int = 20) -> list[str]:
    """The last lines of ``train.log``, progress-bar redraws (carriage returns) collapsed."""
    if not run_dir:
        return []
    path = Path(run_dir) / "train.log"
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 16384))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    out = [line.split("\r")[-1].rstrip() for line in text.split("\n")]
    return [line for line in out if line.strip()][-lines:]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid in _PROCS:
        return _PROCS[pid].poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and b"trainer" in cmdline


def get_run(conn: duckdb.DuckDBPyConnection, run_id: int) -> dict:
    found = rows(conn, "training.get_run", {"id": run_id})
    if not found:
        raise TrainingRunNotFound(f"training run {run_id} does not exist")
    row = found[0]
    for key in ("config", "preflight", "metrics"):
        if isinstance(row.get(key), str):
            row[key] = orjson.loads(row[key])
    return row


def _spawn(conn, run_id: int, run_dir: Path, export_dir: str, base_model: str, name: str, python: str | None) -> int:
    log = (run_dir / "train.log").open("ab")
    command = [python or sys.executable, "-m", "trainer", "run", export_dir, "--base-model", base_model,
               "--run-dir", str(run_dir), "--config", str(run_dir / "config.yaml"), "--name", name]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log.close()
    _PROCS[proc.pid] = proc
    (run_dir / "status.json").unlink(missing_ok=True)  # a resumed run writes its own
    conn.execute(query("training.set_started"), {"id": run_id, "run_dir": str(run_dir), "pid": proc.pid})
    return proc.pid


def start_run(conn: duckdb.DuckDBPyConnection, export_dir: Path | str, base_model: str,
              config: "Path | str | dict | None" = None, *, actor: str = "cli", state_dir: Path | None = None,
              python: str | None = None) -> int:
    """Validate the export (hashes, approved) and the config here, then start the training process.

    ``config``: a YAML path, a dict of config keys, or None for the defaults. Returns the run id."""
    try:
        from trainer.config import TrainConfig  # light: pydantic and yaml only
        from trainer.version import read_export
    except ImportError as exc:
        raise CuratorError(f"training needs the [train] extra ({exc}): pip install -e '.[train]'") from None

    export_dir = Path(export_dir).resolve()
    export = read_export(export_dir)
    cfg = TrainConfig.load(overrides=config) if isinstance(config, dict) else TrainConfig.load(config)
    if Path(base_model).expanduser().exists():
        base_model = str(Path(base_model).expanduser().resolve())
    elif base_model.startswith(("/", "./", "../", "~")) or base_model.count("/") > 1:
        raise TrainingRunError(f"base model {base_model!r}: no such folder (give a local folder or a hub id "
                               "such as meta-llama/Llama-3.2-1B-Instruct)")
    if state_dir is None:
        from .config import get_settings

        state_dir = get_settings().state_dir
    manifest = export.manifest
    with transaction(conn):
        run_id = conn.execute(query("training.insert_run"), {
            "version_id": manifest.get("version_id"), "version_ref": export.ref,
            "content_hash": manifest.get("content_hash") or "", "export_dir": str(export_dir),
            "base_model": base_model, "config": cfg.model_dump_json(), "created_by": actor}).fetchone()[0]
        record_audit(conn, actor, "training.start", f"training_run:{run_id}",
                     {"version": export.ref, "base_model": base_model})
    run_dir = (Path(state_dir) / "training" / f"run-{run_id}").resolve()
    name = f"{manifest.get('name') or 'curator'}-{manifest.get('number') or 0}-run{run_id}"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(run_dir / "config.yaml")
        _spawn(conn, run_id, run_dir, str(export_dir), base_model, name, python)
    except OSError as exc:  # the run row exists: close it as failed rather than leave it queued forever
        with transaction(conn):
            conn.execute(query("training.set_state"), {
                "id": run_id, "status": "failed", "stage": None, "step": None, "max_steps": None,
                "error": f"could not start: {exc}", "preflight": None, "metrics": None})
        raise TrainingRunError(f"training run {run_id} could not start: {exc}") from exc
    return run_id


class VersionNotApproved(TrainingRunError):
    """Training on a draft version: the approval (leakage check included) has not happened."""


def start_version_run(conn: duckdb.DuckDBPyConnection, ref: str, base_model: str,
                      config: "Path | str | dict | None" = None, *, actor: str = "cli",
                      state_dir: Path | None = None, python: str | None = None) -> int:
    """Train on ``NAME@N``: refused unless the store says the version is approved (checked before
    anything is written), then exported in OpenAI chat form under the state dir (byte-identical
    on every export, so a re-run reuses the same files) and started like :func:`start_run`."""
    from .versions import export_version, resolve

    version = resolve(conn, ref)
    label = f"{version['name']}@{version['number']}"
    if version["status"] != "approved":
        raise VersionNotApproved(f"version {label} is {version['status']}: only an approved version can be "
                                 f"trained on (`curator version approve {label}`)")
    if state_dir is None:
        from .config import get_settings

        state_dir = get_settings().state_dir
    out = Path(state_dir) / "exports" / label / "openai"
    export_version(conn, label, "openai", out)
    return start_run(conn, out, base_model, config, actor=actor, state_dir=state_dir, python=python)


def resume_run(conn: duckdb.DuckDBPyConnection, run_id: int, actor: str = "cli", python: str | None = None) -> int:
    """Start a failed or cancelled run again in its run directory: training continues from the
    newest checkpoint and the baseline already measured is kept."""
    row = refresh(conn, run_id)
    if row["status"] not in ("failed", "cancelled"):
        raise TrainingRunError(f"training run {run_id} is {row['status']}; only a failed or cancelled run resumes")
    run_dir = Path(row["run_dir"])
    name = f"{row['version_ref'].replace('@', '-')}-run{run_id}"
    with transaction(conn):
        record_audit(conn, actor, "training.resume", f"training_run:{run_id}", {"from": row["status"]})
    _spawn(conn, run_id, run_dir, row["export_dir"], row["base_model"], name, python)
    return run_id


def _ingest_result(conn, run_id: int, result: dict, run_dir: Path) -> None:
    """Copy the comparison into eval_results / eval_examples (replacing any earlier copy)."""
    conn.execute(query("training.delete_eval"), {"run_id": run_id})
    conn.execute(query("training.delete_examples"), {"run_id": run_id})
    ev = result["eval"]
    for model in ("base", "tuned", "merged"):
        if model not in ev:  # merge: false
            continue
        rows_ = [("test", metric, value, ev["n"]) for metric, value in ev[model].items()]
        if f"{model}_eval_loss" in ev:  # the loss is measured on the validation split
            rows_.append(("validation", "eval_loss", ev[f"{model}_eval_loss"], ev.get("n_validation", ev["n"])))
        for split, metric, value, n in rows_:
            conn.execute(query("training.insert_eval"), {"run_id": run_id, "model": model, "split": split,
                                                         "metric": metric, "value": value, "n": n})
    path = run_dir / "eval_examples.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        ex = json.loads(line)
        conn.execute(query("training.insert_example"), {"run_id": run_id, "idx": ex.pop("index"), **ex})


def refresh(conn: duckdb.DuckDBPyConnection, run_id: int) -> dict:
    """Bring the run's row up to date from its files; a dead process that did not finish is failed."""
    row = get_run(conn, run_id)
    if row["status"] in TERMINAL or not row["run_dir"]:
        return row
    run_dir = Path(row["run_dir"])
    status = _read_json(run_dir / "status.json") or {}
    progress = _read_json(run_dir / "progress.json") or {}
    state, error = status.get("state", "running"), status.get("error")
    if state == "running" and not _alive(row["pid"]):
        state = "failed"
        last = log_tail(run_dir, 1)
        error = (f"the training process (PID {row['pid']}) ended without finishing"
                 + (f": {last[0]}" if last else ""))
    result = _read_json(run_dir / "result.json") if state == "succeeded" else None
    preflight = _read_json(run_dir / "preflight.json")
    params = {"id": run_id, "status": state, "stage": status.get("stage"), "step": progress.get("step"),
              "max_steps": progress.get("max_steps"), "error": error,
              "preflight": orjson.dumps(preflight).decode() if preflight else None,
              "metrics": orjson.dumps(result).decode() if result else None}
    with transaction(conn):
        conn.execute(query("training.set_state"), params)
        if result:
            _ingest_result(conn, run_id, result, run_dir)
    return get_run(conn, run_id)


def cancel(conn: duckdb.DuckDBPyConnection, run_id: int, actor: str = "cli", grace: float = 10.0) -> dict:
    """SIGTERM the run's process group, SIGKILL after ``grace`` seconds; the checkpoints stay."""
    row = refresh(conn, run_id)
    if row["status"] in TERMINAL:
        raise TrainingRunError(f"training run {run_id} already {row['status']}")
    pid = row["pid"]
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):  # it may exit between the check and the signal
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    with transaction(conn):
        conn.execute(query("training.set_state"), {
            "id": run_id, "status": "cancelled", "stage": row["stage"], "step": row["step"],
            "max_steps": row["max_steps"], "error": f"cancelled by {actor}", "preflight": None, "metrics": None})
        record_audit(conn, actor, "training.cancel", f"training_run:{run_id}", {"stage": row["stage"]})
    return get_run(conn, run_id)


def follow(run_dir: Path | str, pid: int, on_update: Callable[[dict], None] | None = None,
           poll: float = 1.0, timeout: float | None = None) -> dict:
    """Wait for the process, reading its files only (the store stays free for other writers)."""
    run_dir = Path(run_dir)
    deadline = None if timeout is None else time.monotonic() + timeout
    while _alive(pid):
        if on_update:
            on_update({**(_read_json(run_dir / "status.json") or {}), **(_read_json(run_dir / "progress.json") or {})})
        if deadline is not None and time.monotonic() > deadline:
            raise TrainingRunError(f"the training run in {run_dir} is still running after {timeout} s")
        time.sleep(poll)
    return _read_json(run_dir / "status.json") or {}


def list_runs(conn: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict]:
    return rows(conn, "training.list_runs", {"limit": limit})


def eval_results(conn: duckdb.DuckDBPyConnection, run_id: int) -> list[dict]:
    return rows(conn, "training.eval_for_run", {"run_id": run_id})


def summary(row: dict, tail: list[str]) -> dict:
    """What the CLI and the API show of a run: status, progress, metrics, artifacts, log tail."""
    metrics = row.get("metrics") or {}
    return {"id": row["id"], "version": row["version_ref"], "base_model": row["base_model"], "status": row["status"],
            "stage": row["stage"], "step": row["step"], "max_steps": row["max_steps"], "error": row["error"],
            "pid": row["pid"], "run_dir": row["run_dir"], "eval": metrics.get("eval"),
            "training": metrics.get("training"),
            "artifacts": metrics.get("artifacts"), "tracking": metrics.get("tracking"), "log_tail": tail}
