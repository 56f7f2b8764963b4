"""Near-duplicate runs, explanations and a steward's choice of representative.

Runs take the store's write lock, like ingests, so concurrent writers queue."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from ...dedup.params import DedupParams
from ...dedup.run import TARGETS
from ...store import WRITE_LOCK, rows
from ..deps import Conn, SettingsDep, Steward, actor

router = APIRouter(prefix="/dedup", tags=["dedup"])
Target = Literal["documents", "examples"]


class DedupRequest(DedupParams):
    """The run's parameters (validated as ``DedupParams``: bad values are a 422) and its target."""

    target: Target = "examples"


def _locked(fn, *args, **kwargs):
    with WRITE_LOCK:
        return fn(*args, **kwargs)


@router.post("")
async def run(body: DedupRequest, conn: Conn, settings: SettingsDep, caller: Steward) -> dict:
    from ...dedup import run_dedup

    params = DedupParams(**body.model_dump(exclude={"target"}))
    report = await run_in_threadpool(_locked, run_dedup, conn, body.target, params, actor=actor(caller),
                                     engine="local")
    return report.as_dict()


@router.get("/decisions/{target}")
def decisions(target: Target, conn: Conn, _caller: Steward, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict]:
    """The latest run's decision rows, cluster by cluster, representative first."""
    return rows(conn, "dedup.latest_decisions", {"target": TARGETS[target], "limit": limit})


@router.get("/explain/{target}/{row_id}")
def explain(target: Target, row_id: int, conn: Conn, _caller: Steward) -> dict:
    from ...dedup.explain import explain as explain_row

    return explain_row(conn, target, row_id)


@router.post("/keep/{target}/{row_id}")
async def keep(target: Target, row_id: int, conn: Conn, caller: Steward) -> dict:
    from ...dedup.explain import choose_representative

    return await run_in_threadpool(_locked, choose_representative, conn, target, row_id, actor(caller))
