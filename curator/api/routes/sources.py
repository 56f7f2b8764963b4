"""Sources with their file, document, example and reject counts."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import Conn, Steward
from ..rows import rows
from ..schemas import Source

router = APIRouter(tags=["sources"])


@router.get("/sources", response_model=list[Source])
def list_sources(conn: Conn, _caller: Steward) -> list[dict]:
    return rows(conn, "stats.sources")  # what stats.sources() returns, read without pytz
