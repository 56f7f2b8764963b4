"""The store overview that `curator stats --json` prints."""

from __future__ import annotations

from fastapi import APIRouter

from ... import stats
from ..deps import Conn, Steward

router = APIRouter(tags=["stats"])


@router.get("/stats")
def overview(conn: Conn, _caller: Steward) -> dict:
    return stats.overview(conn)
