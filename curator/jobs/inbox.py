"""A durable inbox for webhook deliveries: one file per delivery, written and fsynced before
the sender gets its 200, applied later by the job runner in arrival order.

Label Studio waits about a second for an answer and never retries, so the receiver must not
wait for the store (a long writing job may hold it). A file per delivery (temporary name,
fsync, rename, fsync of the directory) is the smallest thing that survives ``kill -9`` and a
power cut without a second database; applying is idempotent (payload hashes), so a delivery
applied just before a crash and applied again after it adds nothing.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from pathlib import Path

_SUFFIX = ".json"


class Inbox:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rejected_dir = self.dir / "rejected"
        self._lock = threading.Lock()
        self._counter = itertools.count()
        for stale in self.dir.glob("*.tmp"):  # a delivery cut off before its rename was never acknowledged
            stale.unlink(missing_ok=True)

    def append(self, body: bytes) -> str:
        """Store one delivery durably; returns its name (which sorts in arrival order)."""
        with self._lock:
            name = f"{time.time_ns():020d}-{next(self._counter):08d}"
        tmp = self.dir / f"{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, self.dir / f"{name}{_SUFFIX}")
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return name

    def pending(self) -> list[Path]:
        return sorted(self.dir.glob(f"*{_SUFFIX}"))

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str) -> None:
        """Keep a delivery that cannot be applied, with the reason beside it, instead of losing it."""
        self.rejected_dir.mkdir(exist_ok=True)
        (self.rejected_dir / f"{path.stem}.reason.txt").write_text(reason + "\n", encoding="utf-8")
        path.rename(self.rejected_dir / path.name)
