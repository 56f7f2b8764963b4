"""``status.json``, the file the job runner (``curator.training_jobs``) reads to follow a run (it
never imports the trainer), and the console the run prints its stages on."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console

from .train import write_json

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
