"""Response and request bodies, so /docs shows the shape of every answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..keys import ROLES

Role = Literal[ROLES]  # type: ignore[valid-type]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Source(BaseModel):
    id: int
    name: str
    created_at: datetime
    files: int
    documents: int
    examples: int
    rejects: int


class Me(BaseModel):
    name: str
    role: Role


class AuditRow(BaseModel):
    id: int
    occurred_at: datetime
    actor: str
    action: str
    target: str | None
    details: Any
