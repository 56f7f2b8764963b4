"""Jobs: the service's writing operations, queued and run one at a time. Follow one by polling
``GET /jobs/{id}`` or by its server-sent event stream; cancel it (a running job stops at its next
progress point and its open transaction rolls back)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal, Optional

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...jobs.runner import TERMINAL
from ...keys import Principal
from ..deps import Steward, actor
from ..openapi import error

router = APIRouter(prefix="/jobs", tags=["jobs"])
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


# What anyone with the steward role sees of a job that is not theirs: that it exists, what kind,
# where it stands (why their own waits). Who asked, with what, and what came of it stay with the
# owner and admins, as the jobs table does in POST /sql (admins only).
SHARED = ("id", "kind", "status", "progress", "created_at", "started_at", "finished_at", "queue_position", "seq")


def _owns(caller: Principal, request: Request, view: dict) -> bool:
    return caller.can("admin") or view.get("actor") == actor(caller, request)


def _for(caller: Principal, request: Request, view: dict) -> dict:
    if _owns(caller, request, view):
        return view
    return {k: view[k] for k in SHARED if k in view} | {"actor": None, "params": None, "result": None,
                                                        "error": None, "log_tail": [], "hidden": True}


@router.get("")
def list_jobs(request: Request, caller: Steward, status: Optional[Status] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict]:
    """Newest first; another caller's job shows only its kind and state (admins see everything)."""
    return jsonable_encoder([_for(caller, request, v) for v in request.app.state.runner.list(status, limit)])


@router.get("/{job_id}")
def show(job_id: int, request: Request, caller: Steward) -> dict:
    return jsonable_encoder(_for(caller, request, request.app.state.runner.get(job_id)))


@router.post("/{job_id}/cancel", responses={403: error(403)})
def cancel(job_id: int, request: Request, caller: Steward) -> dict:
    """The job's owner or an admin may cancel it (403 otherwise)."""
    runner = request.app.state.runner
    if not _owns(caller, request, runner.get(job_id)):
        raise HTTPException(403, f"job {job_id} is not yours: only its owner or an admin "
                                                       "may cancel it")
    return jsonable_encoder(runner.cancel(job_id))


class _Stream(StreamingResponse):
    """Gives its slot back however the stream ends: done, client gone, or cancelled."""

    def __init__(self, content, release, **kwargs):
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@router.get("/{job_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`event: job` with the job's view at each change, until it ends"},
                       429: error(429)})
async def events(job_id: int, request: Request, caller: Steward) -> StreamingResponse:
    """Waits on the runner asynchronously (no worker thread per stream), so open streams never
    starve the other routes; capped per key and in all (429)."""
    runner = request.app.state.runner
    first = _for(caller, request, runner.peek(job_id) or await run_in_threadpool(runner.get, job_id))  # 404 first
    give_back = request.app.state.streams.acquire(caller.name)
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    unwatch = runner.watch(job_id, lambda: loop.call_soon_threadsafe(changed.set))

    def release() -> None:
        unwatch()
        give_back()

    async def current() -> dict:
        view = runner.peek(job_id) or await run_in_threadpool(runner.get, job_id)  # the store: once it ended
        return _for(caller, request, view)

    async def stream():
        view, seq = first, None
        try:
            while True:
                if view["seq"] != seq or view["status"] in TERMINAL:
                    seq = view["seq"]
                    yield b"event: job\ndata: " + orjson.dumps(jsonable_encoder(view)) + b"\n\n"
                if view["status"] in TERMINAL:
                    return
                await asyncio.sleep(0.1)  # at most ten events a second, however fast a job reports
                changed.clear()  # cleared before reading, so a change after the read still wakes us
                view = await current()
                if view["seq"] == seq and view["status"] not in TERMINAL:
                    try:
                        await asyncio.wait_for(changed.wait(), 10.0)
                        view = await current()
                    except TimeoutError:
                        yield b": still running\n\n"  # a comment line keeps proxies from closing the stream
        finally:
            release()

    return _Stream(stream(), release, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
