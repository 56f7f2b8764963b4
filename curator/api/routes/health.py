"""Liveness for load balancers and start-up scripts: open, and proves the store answers."""

from __future__ import annotations

import duckdb
from fastapi import APIRouter, HTTPException, status

from ...sqlfiles import query
from ..deps import Conn
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(conn: Conn) -> Health:
    try:
        conn.execute(query("api.ping")).fetchone()
    except duckdb.Error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the store does not answer") from None
    return Health()
