"""Near-duplicate decisions of the latest run (runs, explanations and a steward's choice of
representative are operations: routes/operations.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ...dedup.params import TARGETS
from ...store import rows
from ..deps import Conn, Steward

router = APIRouter(prefix="/dedup", tags=["dedup"])
Target = Literal["documents", "examples"]


@router.get("/decisions/{target}")
def decisions(target: Target, conn: Conn, _caller: Steward, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict]:
    """The latest run's decision rows, cluster by cluster, representative first."""
    return rows(conn, "dedup.latest_decisions", {"target": TARGETS[target], "limit": limit})
