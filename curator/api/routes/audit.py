"""Recent audit_log rows, newest first: who changed what, from the CLI or the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ... import audit
from ..deps import Admin, Conn
from ..schemas import AuditRow

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditRow])
def recent(conn: Conn, _caller: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    return audit.recent(conn, limit)
