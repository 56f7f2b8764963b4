"""The job runner: the one writer of the store while the service runs.

Writing operations are queued and run one at a time, in order, on the runner's own cursor of
the service's connection; reads keep answering on cursors of their own (DuckDB's MVCC), so a
long dedup never blocks ``GET /stats``. Live progress lives in memory (followers poll it or
stream it as server-sent events); the ``jobs`` table gets a row at each state change, so a job
left ``running`` by a killed service is found at the next start and marked failed. Between
jobs the runner applies the webhook inbox in arrival order.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import duckdb
import orjson
from pydantic import BaseModel

from ..audit import record_audit
from ..config import Settings
from ..errors import CuratorError, NotFoundError
from ..inbox import Inbox
from ..ops.base import Context, JobCancelled, Operation
from ..ops.errors import describe
from ..store import rows
from ..sqlfiles import query

log = logging.getLogger("curator.jobs")
TERMINAL = ("succeeded", "failed", "cancelled")
KEEP_FINISHED = 500  # finished jobs kept in memory for followers; older ones are read from the store
DELIVERY_TRIES = 3  # a webhook delivery that fails this often (not for a store outage) is set aside
# The store itself failing (disk, a database invalidated by an earlier fatal error, memory the
# whole service shares): no delivery's fault, so it is retried at the next round, never set aside.
STORE_OUTAGES = (duckdb.IOException, duckdb.FatalException, duckdb.ConnectionException,
                 duckdb.OutOfMemoryException, duckdb.InterruptException)
INBOX_ACTOR = "service:webhook-inbox"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class LiveJob:
    id: int
    op: Operation
    params: BaseModel
    actor: str
    uploads: dict
    created_at: datetime
    status: str = "queued"
    done: int | None = None
    total: int | None = None
    unit: str | None = None
    stage: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Any = None
    error: dict | None = None
    log_tail: deque = field(default_factory=lambda: deque(maxlen=50))
    cancel: threading.Event = field(default_factory=threading.Event)
    seq: int = 0

    def view(self) -> dict:
        return {"id": self.id, "kind": self.op.name, "params": self.params.model_dump(mode="json"),
                "actor": self.actor, "status": self.status,
                "progress": {"done": self.done, "total": self.total, "unit": self.unit, "stage": self.stage},
                "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
                "result": self.result, "error": self.error, "log_tail": list(self.log_tail), "seq": self.seq}


def _stored_view(row: dict) -> dict:
    decode = lambda v: None if v is None else orjson.loads(v)  # noqa: E731
    return {"id": row["id"], "kind": row["kind"], "params": decode(row["params"]), "actor": row["actor"],
            "status": row["status"],
            "progress": {"done": row["progress_done"], "total": row["progress_total"], "unit": row["progress_unit"],
                         "stage": None},
            "created_at": row["created_at"], "started_at": row["started_at"], "finished_at": row["finished_at"],
            "result": decode(row["result"]), "error": decode(row["error"]), "log_tail": decode(row["log_tail"]) or [],
            "seq": -1}


class Runner:
    """Owns writing: ``submit`` queues, a single thread runs; ``apply_deliveries(cursor, payloads)``
    applies webhook deliveries (in arrival order, one transaction) between jobs."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, settings: Settings, inbox: Inbox,
                 apply_deliveries: Callable[[duckdb.DuckDBPyConnection, list[dict]], None]):
        self._conn, self._settings, self.inbox, self._apply = conn, settings, inbox, apply_deliveries
        self._cv = threading.Condition()
        self._queue: deque[LiveJob] = deque()
        self._jobs: OrderedDict[int, LiveJob] = OrderedDict()
        self._inbox_signal = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._cursor = conn.cursor()
        self._watchers: dict[int, set[Callable[[], None]]] = {}
        self.generation = 0  # bumped after every write the runner commits: keys in-process read caches

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> list[int]:
        """Mark jobs a dead service left behind as failed, then start the runner thread."""
        with self._conn.cursor() as cur:
            orphaned = [r[0] for r in cur.execute(query("jobs.orphaned")).fetchall()]
        if orphaned:
            log.warning("jobs %s were left queued or running by a stopped service: marked failed", orphaned)
        self._inbox_signal = bool(self.inbox.pending())
        # The runner's Python (between nogil kernels and DuckDB calls) and the event loop share the
        # GIL; CPython's default 5 ms switch interval makes each of a request's many GIL handoffs
        # wait up to 5 ms behind a busy job, which is what a webhook's acknowledgement paid.
        sys.setswitchinterval(self._settings.gil_switch_interval_ms / 1000)
        self._thread = threading.Thread(target=self._loop, name="curator-job-runner", daemon=True)
        self._thread.start()
        return orphaned

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel what runs, drop what waits (marked cancelled), and let the thread end."""
        with self._cv:
            self._stopping = True
            for job in self._jobs.values():
                job.cancel.set()
            self._cv.notify_all()
        if self._thread:
            self._thread.join(timeout)
        self.drain_inbox()  # what was acknowledged is applied before the store closes
        for job in list(self._queue):
            self._finish(job, "cancelled", error={"type": "ServiceStopped", "status": 503,
                                                  "detail": "the service stopped before this job started"})
        self._cursor.close()

    # -- faces' side ---------------------------------------------------------------------------

    def submit(self, op: Operation, params: BaseModel, actor: str, uploads: dict | None = None) -> dict:
        with self._conn.cursor() as cur:
            job_id, created = cur.execute(query("jobs.insert"), {
                "kind": op.name, "params": params.model_dump_json(), "actor": actor}).fetchone()
        job = LiveJob(job_id, op, params, actor, uploads or {}, created)
        with self._cv:
            if self._stopping:
                raise CuratorError("the service is stopping; submit the job again once it runs")
            self._jobs[job_id] = job
            self._queue.append(job)
            self._cv.notify_all()
        return job.view()

    def get(self, job_id: int) -> dict:
        with self._cv:
            job = self._jobs.get(job_id)
            if job is not None:
                return job.view() | {"queue_position": self._position(job)}
        found = rows(self._conn, "jobs.get", {"id": job_id})
        if not found:
            raise NotFoundError(f"no job {job_id}")
        return _stored_view(found[0])

    def list(self, status: str | None = None, limit: int = 50) -> list[dict]:
        return [_stored_view(r) | ({"progress": self._jobs[r["id"]].view()["progress"]} if r["id"] in self._jobs else {})
                for r in rows(self._conn, "jobs.recent", {"status": status, "limit": limit})]

    def cancel(self, job_id: int) -> dict:
        """Ask a job to stop: a queued one never starts, a running one stops at its next progress
        point and its open transaction rolls back."""
        with self._cv:
            job = self._jobs.get(job_id)
            if job is None or job.status in TERMINAL:
                view = self.get(job_id)  # raises NotFoundError for an unknown id
                raise CuratorError(f"job {job_id} is {view['status']}: nothing to cancel")
            job.cancel.set()
            queued = job in self._queue
            if queued:
                self._queue.remove(job)
        if queued:
            self._finish(job, "cancelled", error={"type": "JobCancelled", "status": 409,
                                                  "detail": "cancelled on request before it started"})
        return self.get(job_id)

    def wait(self, job_id: int, seq: int = -1, timeout: float | None = None) -> dict:
        """Block until the job changes past ``seq`` (or ends, or ``timeout``); returns its view."""
        with self._cv:
            job = self._jobs.get(job_id)
            if job is not None:
                self._cv.wait_for(lambda: job.seq != seq or job.status in TERMINAL, timeout)
        return self.get(job_id)

    def peek(self, job_id: int) -> dict | None:
        """The view of a job held in memory, without touching the store; None once it left memory."""
        with self._cv:
            job = self._jobs.get(job_id)
            return None if job is None else job.view() | {"queue_position": self._position(job)}

    def watch(self, job_id: int, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from the runner's thread: it must only hand over, e.g.
        ``loop.call_soon_threadsafe``) at each change of the job; returns the way to stop. Event
        streams wait on this instead of holding a worker thread each in ``wait``."""
        with self._cv:
            self._watchers.setdefault(job_id, set()).add(callback)

        def unwatch() -> None:  # safe to call twice
            with self._cv:
                left = self._watchers.get(job_id, set())
                left.discard(callback)
                if not left:
                    self._watchers.pop(job_id, None)

        return unwatch

    def wait_done(self, job_id: int, timeout: float | None = None) -> dict:
        with self._cv:
            job = self._jobs.get(job_id)
            if job is not None:
                self._cv.wait_for(lambda: job.status in TERMINAL, timeout)
        return self.get(job_id)

    def busy(self) -> bool:
        with self._cv:
            return any(j.status == "running" for j in self._jobs.values()) or bool(self._queue)

    def has_pending(self, kind: str) -> bool:
        with self._cv:
            return any(j.op.name == kind and j.status in ("queued", "running") for j in self._jobs.values())

    def notify_inbox(self) -> None:
        with self._cv:
            self._inbox_signal = True
            self._cv.notify_all()

    def _position(self, job: LiveJob) -> int | None:
        try:
            return self._queue.index(job) + 1
        except ValueError:
            return None

    # -- the runner thread ---------------------------------------------------------------------

    def _loop(self) -> None:
        self._lower_priority()
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._stopping or self._queue or self._inbox_signal, timeout=5.0)
                if self._stopping:
                    return
                self._inbox_signal = False
                job = self._queue.popleft() if self._queue else None
            self.drain_inbox()  # a glob when empty; deliveries go first, in arrival order
            if job is not None:
                self._run(job)

    def _lower_priority(self) -> None:
        """Run jobs at a higher nice value than the requests: on Linux nice is per thread and
        inherited by the threads a job starts (the dedup kernels' pool), so on a busy machine a
        webhook or a read waits for a core less often. Raising one's own nice needs no privilege."""
        if sys.platform != "linux" or not self._settings.job_nice:
            return
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._settings.job_nice)
        except OSError as exc:
            log.warning("could not lower the job runner's priority: %s", exc)

    def drain_inbox(self, batch: int = 200) -> int:
        """Apply every pending delivery in arrival order, up to ``batch`` per transaction. A batch
        that fails is applied one delivery at a time, so a single bad one cannot hold back the
        others: it is set aside with its reason after ``DELIVERY_TRIES`` tries (never dropped);
        only a store outage leaves the rest queued for the next round."""
        applied = 0
        pending = self.inbox.pending()
        while pending:
            chunk, pending = pending[:batch], pending[batch:]
            loaded = []
            for path in chunk:
                try:
                    loaded.append((path, orjson.loads(path.read_bytes())))
                except (OSError, orjson.JSONDecodeError) as exc:
                    self._set_aside(path, exc, tries=1)
            try:
                self._apply(self._cursor, [payload for _, payload in loaded])
            except STORE_OUTAGES:
                log.exception("the store failed applying webhook deliveries; they stay in the inbox")
                return applied
            except Exception:
                for path, payload in loaded:  # find the one that fails
                    if not self._apply_one(path, payload):
                        return applied
                    applied += 1
                continue
            for path, _ in loaded:
                self.inbox.done(path)
            applied += len(loaded)
            self.touch()
        return applied

    def touch(self) -> None:
        """Note a committed write, so reads cached for the previous generation are recomputed."""
        with self._cv:
            self.generation += 1

    def _apply_one(self, path, payload: dict) -> bool:
        """Apply one delivery, retrying up to ``DELIVERY_TRIES`` times in place (arrival order is
        kept: nothing behind it is applied meanwhile); False only for a store outage."""
        for tries in range(1, DELIVERY_TRIES + 1):
            try:
                self._apply(self._cursor, [payload])
            except STORE_OUTAGES:  # the store itself failed: keep it (and all behind it) for the next round
                log.exception("webhook delivery %s could not be applied; it stays in the inbox", path.name)
                return False
            except Exception as exc:  # the delivery's own fault (or a bug it triggers): bounded tries
                self._rollback_leftovers()
                if tries == DELIVERY_TRIES:
                    self._set_aside(path, exc, tries)
                    return True
                continue
            self.inbox.done(path)
            self.touch()
            return True
        return True

    def _set_aside(self, path, exc: BaseException, tries: int) -> None:
        reason = f"{exc.__class__.__name__}: {exc}"[:2000]
        log.warning("webhook delivery %s set aside after %d tries: %s", path.name, tries, reason)
        entry = self.inbox.reject(path, reason, tries)
        try:  # the store works (this is no outage), so the setting aside leaves its audit row
            record_audit(self._cursor, INBOX_ACTOR, "webhook.set_aside", entry["name"],
                         {k: entry[k] for k in ("reason", "tries", "action", "annotations", "task", "sha256")})
            self.touch()
        except duckdb.Error:
            log.exception("the audit row of set-aside delivery %s was not written", path.name)

    def _bump(self, job: LiveJob, **changes) -> None:
        with self._cv:
            for key, value in changes.items():
                setattr(job, key, value)
            job.seq += 1
            self._cv.notify_all()
            watchers = list(self._watchers.get(job.id, ()))
        for callback in watchers:
            try:
                callback()
            except RuntimeError:  # its event loop closed (the service stopping): nobody waits any more
                pass

    def _run(self, job: LiveJob) -> None:
        if job.cancel.is_set():
            return
        with self._conn.cursor() as cur:
            cur.execute(query("jobs.started"), {"id": job.id})
        self._bump(job, status="running", started_at=_now())

        def on_progress(done, total, unit, stage):
            self._bump(job, done=done, total=total if total is not None else job.total,
                       unit=unit or job.unit, stage=stage or job.stage)

        def on_log(line: str):
            with self._cv:
                job.log_tail.append(line)
            self._bump(job)

        ctx = Context(self._cursor, self._settings, job.actor, on_progress, on_log, job.cancel, job.uploads)
        try:
            result = job.op.execute(ctx, job.params)
        except JobCancelled as exc:
            self._finish(job, "cancelled", error=describe(exc))
        except CuratorError as exc:
            self._finish(job, "failed", error=describe(exc))
        except Exception as exc:  # a bug: keep the traceback in the job's log, answer without it
            log.exception("job %d (%s) failed", job.id, job.op.name)
            for line in traceback.format_exc().splitlines()[-20:]:
                job.log_tail.append(line)
            self._finish(job, "failed", error=describe(exc))
        else:
            self._finish(job, "succeeded", result=result)
        finally:
            self._rollback_leftovers()

    def _rollback_leftovers(self) -> None:
        """A step that raised inside ``transaction`` rolled back already; this catches one that did not."""
        try:
            self._cursor.execute("ROLLBACK")
        except duckdb.Error:
            pass

    def _finish(self, job: LiveJob, status: str, result: Any = None, error: dict | None = None) -> None:
        with self._conn.cursor() as cur:
            cur.execute(query("jobs.finished"), {
                "id": job.id, "status": status, "result": None if result is None else orjson.dumps(result).decode(),
                "error": None if error is None else orjson.dumps(error).decode(),
                "log_tail": orjson.dumps(list(job.log_tail)).decode(), "done": job.done, "total": job.total,
                "unit": job.unit})
        self.touch()
        self._bump(job, status=status, result=result, error=error, finished_at=_now())
        with self._cv:
            finished = [i for i, j in self._jobs.items() if j.status in TERMINAL]
            for old in finished[:-KEEP_FINISHED]:
                del self._jobs[old]
