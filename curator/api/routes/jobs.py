"""Jobs: the service's writing operations, queued and run one at a time. Follow one by polling
``GET /jobs/{id}`` or by its server-sent event stream; cancel it (a running job stops at its next
progress point and its open transaction rolls back)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal, Optional

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...jobs.runner import TERMINAL
from ..deps import Steward

router = APIRouter(prefix="/jobs", tags=["jobs"])
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


@router.get("")
def list_jobs(request: Request, _caller: Steward, status: Optional[Status] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict]:
    return jsonable_encoder(request.app.state.runner.list(status, limit))


@router.get("/{job_id}")
def show(job_id: int, request: Request, _caller: Steward) -> dict:
    return jsonable_encoder(request.app.state.runner.get(job_id))


@router.post("/{job_id}/cancel")
def cancel(job_id: int, request: Request, _caller: Steward) -> dict:
    return jsonable_encoder(request.app.state.runner.cancel(job_id))


@router.get("/{job_id}/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`event: job` with the job's view at each change, until it ends"}})
async def events(job_id: int, request: Request, _caller: Steward) -> StreamingResponse:
    runner = request.app.state.runner
    first = runner.get(job_id)  # an unknown id is a 404 before the stream starts

    async def stream():
        view, seq = first, None
        while True:
            if view["seq"] != seq or view["status"] in TERMINAL:
                seq = view["seq"]
                yield b"event: job\ndata: " + orjson.dumps(jsonable_encoder(view)) + b"\n\n"
            else:
                yield b": still running\n\n"
            if view["status"] in TERMINAL or await request.is_disconnected():
                return
            await asyncio.sleep(0.1)  # at most ten events a second, however fast a job reports
            view = await run_in_threadpool(runner.wait, job_id, seq, 10.0)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
