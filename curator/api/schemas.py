"""Response and request bodies, so /docs shows the shape of every answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..keys import ROLES

Role = Literal[ROLES]  # type: ignore[valid-type]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Rejected(BaseModel):
    origin: str = Field(description="uploaded file name and line")
    reason: str = Field(description="'code: reason'")


class IngestResult(BaseModel):
    """The object `curator ingest --json` prints."""

    batch_id: int
    files: int
    files_skipped: int
    skipped_files: list[dict] = []  # {path, ingested_as}: already committed by an earlier batch
    file_copies: list[dict] = []  # {path, copy_of}: byte-identical copies met in this batch
    documents_added: int
    examples_added: int
    duplicates_skipped: int
    rejected: list[Rejected]


class Source(BaseModel):
    id: int
    name: str
    created_at: datetime
    files: int
    documents: int
    examples: int
    rejects: int


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$",
                      description="who or what uses the key; no leading or trailing spaces")
    role: Role


class KeyCreated(BaseModel):
    name: str
    role: Role
    key: str = Field(description="the secret; shown only in this response, stored hashed")


class KeyInfo(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


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
