"""A durable inbox for webhook deliveries: one file per delivery, written and fsynced before
the sender gets its 200, applied later by the job runner in arrival order.

Label Studio waits about a second for an answer and never retries, so the receiver must not
wait for the store (a long writing job may hold it). A file per delivery (temporary name,
fsync, rename, fsync of the directory) is the smallest thing that survives ``kill -9`` and a
power cut without a second database; applying is idempotent (payload hashes), so a delivery
applied just before a crash and applied again after it adds nothing.

A delivery that cannot be applied is *set aside* (moved to ``rejected/`` with its reason), never
dropped and never left blocking the deliveries behind it; an admin retries or drops it. It sits
below the runner and the operations, so both the runner and ``review inbox`` read one format.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson

from .errors import NotFoundError

_SUFFIX = ".json"
NAME = re.compile(r"^[0-9]{20}-[0-9]{8}$")  # what append() names a delivery; nothing else is looked up


class Inbox:
    def __init__(self, directory: Path, create: bool = True):
        self.dir = Path(directory)
        self.rejected_dir = self.dir / "rejected"
        self._lock = threading.Lock()
        self._counter = itertools.count()
        if create:  # the receiver's inbox, made once at start-up; readers (create=False) touch nothing
            self.dir.mkdir(parents=True, exist_ok=True)
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
        _fsync_dir(self.dir)
        return name

    def pending(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(self.dir.glob(f"*{_SUFFIX}"))

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str, tries: int = 1) -> dict:
        """Set a delivery aside with its reason (and how often it was tried) instead of losing it."""
        self.rejected_dir.mkdir(exist_ok=True)
        note = {"reason": reason, "tries": tries, "set_aside_at": datetime.now(timezone.utc).isoformat()}
        (self.rejected_dir / f"{path.stem}.reason").write_bytes(orjson.dumps(note))
        path.rename(self.rejected_dir / path.name)
        return self._entry(self.rejected_dir / path.name)

    def set_aside(self) -> list[dict]:
        """Every delivery set aside, oldest first, with its reason and what it was about."""
        if not self.rejected_dir.is_dir():
            return []
        return [self._entry(p) for p in sorted(self.rejected_dir.glob(f"*{_SUFFIX}")) if NAME.match(p.stem)]

    def retry(self, name: str) -> dict:
        """Put a set-aside delivery back under its own name: it sorts before anything that arrived
        after it, so it is applied at the runner's next round, in its original place."""
        path = self._aside(name)
        entry = self._entry(path)
        path.rename(self.dir / path.name)
        self._notes(name)[0].unlink(missing_ok=True)
        self._notes(name)[1].unlink(missing_ok=True)
        _fsync_dir(self.dir)
        return entry

    def drop(self, name: str) -> dict:
        """Delete a set-aside delivery for good; returns what it was (with its body's SHA-256)."""
        path = self._aside(name)
        entry = self._entry(path)
        path.unlink()
        for note in self._notes(name):
            note.unlink(missing_ok=True)
        return entry

    def _aside(self, name: str) -> Path:
        path = self.rejected_dir / f"{name}{_SUFFIX}"
        if not NAME.match(name) or not path.is_file():
            raise NotFoundError(f"no set-aside webhook delivery {name!r} (see `curator review inbox`)")
        return path

    def _notes(self, name: str) -> tuple[Path, Path]:
        return self.rejected_dir / f"{name}.reason", self.rejected_dir / f"{name}.reason.txt"  # .txt: older stores

    def _entry(self, path: Path) -> dict:
        body = path.read_bytes()
        new, old = self._notes(path.stem)
        if new.is_file():
            note = orjson.loads(new.read_bytes())
        else:
            note = {"reason": old.read_text(encoding="utf-8").strip() if old.is_file() else None, "tries": None,
                    "set_aside_at": None}
        return {"name": path.stem, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(), **note,
                **describe(body)}


def describe(body: bytes) -> dict:
    """What a delivery was about (action, annotation and task ids), read defensively: it is
    exactly the kind of body that could not be applied."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"action": None, "annotations": [], "task": None}
    if not isinstance(payload, dict):
        return {"action": None, "annotations": [], "task": None}
    many = payload.get("annotations") if isinstance(payload.get("annotations"), list) else [payload.get("annotation")]
    ids = [a.get("id") for a in many if isinstance(a, dict)]
    task = payload.get("task")
    task = task.get("id") if isinstance(task, dict) else task
    plain = lambda v: v if isinstance(v, (int, str)) and not isinstance(v, bool) and len(str(v)) <= 40 else repr(v)[:40]  # noqa: E731
    action = payload.get("action")
    return {"action": action if isinstance(action, str) else None, "annotations": [plain(i) for i in ids[:20]],
            "task": None if task is None else plain(task)}


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
