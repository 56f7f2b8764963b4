"""Dataset versions over HTTP: list, show, diff, leakage report (steward), create and approve
(steward or admin). Versions have no PUT, PATCH or DELETE: they never change once created."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ... import versions as lib
from ...versions.overlap import OverlapParams
from ...store import WRITE_LOCK
from ..deps import Conn, Steward, actor

router = APIRouter(prefix="/versions", tags=["versions"])


class VersionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="dataset name; the number is the next free one")
    split: str = Field("0.8,0.1,0.1", description="train,validation,test shares")
    seed: int = Field(0, ge=0)
    where: Optional[str] = Field(None, description="SQL boolean over the version_candidates columns")
    min_rating: Optional[float] = Field(None, ge=1, le=5)
    group_by: Optional[str] = None  # SQL expression over version_candidates: equal values share a group
    boilerplate_share: float = Field(0.05, gt=0, le=1)
    boilerplate_count: int = Field(10, ge=2)
    min_shared_ngrams: int = Field(10, ge=1)


def _locked(fn, *args, **kwargs):
    with WRITE_LOCK:
        return fn(*args, **kwargs)


@router.get("")
def list_versions(conn: Conn, _caller: Steward, name: Optional[str] = None) -> list[dict]:
    return lib.list_versions(conn, name)


@router.post("", status_code=201)
async def create(body: VersionRequest, conn: Conn, caller: Steward) -> dict:
    return await run_in_threadpool(_locked, lib.create_version, conn, body.name, actor(caller), split=body.split,
                                   seed=body.seed, where=body.where, min_rating=body.min_rating,
                                   group_by=body.group_by, overlap=OverlapParams(boilerplate_share=body.boilerplate_share,
                                                                                 boilerplate_count=body.boilerplate_count,
                                                                                 min_shared=body.min_shared_ngrams))


@router.get("/{ref}")
def show(ref: str, conn: Conn, _caller: Steward) -> dict:
    return lib.show_version(conn, ref)


@router.get("/{ref}/leakage")
async def leakage(ref: str, conn: Conn, _caller: Steward) -> dict:
    """The cross-split check approval runs (it may sign examples that have no signature yet)."""
    return await run_in_threadpool(_locked, lib.leakage_report, conn, ref)


@router.post("/{ref}/approve")
async def approve(ref: str, conn: Conn, caller: Steward) -> dict:
    return await run_in_threadpool(_locked, lib.approve_version, conn, ref, actor(caller))


@router.get("/{a}/diff/{b}")
def diff(a: str, b: str, conn: Conn, _caller: Steward) -> dict:
    return lib.diff_versions(conn, a, b)
