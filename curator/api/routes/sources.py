"""Sources with their file, document, example and reject counts."""

from __future__ import annotations

from fastapi import APIRouter

from ... import stats
from ..deps import Conn, Steward
from ..schemas import Source

router = APIRouter(tags=["sources"])


@router.get("/sources", response_model=list[Source])
def list_sources(conn: Conn, _caller: Steward) -> list[dict]:
    return stats.sources(conn)
