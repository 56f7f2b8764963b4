"""Training runs over HTTP: an admin starts one on an approved version (a draft is refused with
409 before anything is written), stewards and admins follow it (status, step, metrics, log
tail), an admin cancels it. The run is a separate process (``python -m trainer run``); this
module never imports torch."""

from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ... import training_jobs as jobs
from ..deps import Admin, Conn, Steward, actor

router = APIRouter(prefix="/training-runs", tags=["training"])


class TrainingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(description="an approved version, NAME@N")
    base_model: str = Field(description="a local model folder on the service's machine, or a hub id")
    config: Optional[dict[str, Any]] = Field(None, description="training config keys (unknown keys are errors)")


def _view(conn, run_id: int, tail: int = 20) -> dict:
    row = jobs.refresh(conn, run_id)
    return jobs.summary(row, jobs.log_tail(row["run_dir"], tail)) | {"eval_results": jobs.eval_results(conn, run_id)}


@router.post("", status_code=201)
async def start(body: TrainingRequest, conn: Conn, caller: Admin) -> dict:
    run_id = await run_in_threadpool(jobs.start_version_run, conn, body.version, body.base_model, body.config,
                                     actor=actor(caller))
    return await run_in_threadpool(_view, conn, run_id)


@router.get("")
def list_runs(conn: Conn, _caller: Steward, limit: int = Query(50, ge=1, le=500)) -> list[dict]:
    return [jobs.summary(jobs.refresh(conn, r["id"]), []) for r in jobs.list_runs(conn, limit)]


@router.get("/{run_id}")
def show(run_id: int, conn: Conn, _caller: Steward, tail: int = Query(20, ge=0, le=500)) -> dict:
    return _view(conn, run_id, tail)


@router.post("/{run_id}/cancel")
async def cancel(run_id: int, conn: Conn, caller: Admin) -> dict:
    row = await run_in_threadpool(jobs.cancel, conn, run_id, actor(caller))
    return jobs.summary(row, jobs.log_tail(row["run_dir"]))
