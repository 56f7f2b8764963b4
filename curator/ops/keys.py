"""API keys as operations (admins only): create (the secret is returned once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, RootModel

from ..keys import ROLES
from .base import Context, Params, Result, operation

Role = Literal[ROLES]  # type: ignore[valid-type]


class KeyCreate(Params):
    # Letters, digits and . _ @ : + - (spaces inside): a name is printed by `keys list` and in the
    # audit log, so control characters (terminal escape sequences) are refused.
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@:+-]([A-Za-z0-9._@:+ -]*[A-Za-z0-9._@:+-])?$",
                      description="who or what uses the key: letters, digits, . _ @ : + - and inner spaces")
    role: Role


class KeyCreated(Result):
    name: str
    role: Role
    key: str = Field(description="the secret; shown only in this response, stored hashed")


@operation("keys.create", params=KeyCreate, result=KeyCreated, kind="direct", role="admin", method="POST", path="/keys",
           status_code=201, cli=("keys", "create"))
def create(ctx: Context, p: KeyCreate) -> dict:
    """Create an API key; the secret is printed once and stored only as a hash."""
    from .. import keys

    return {"name": p.name, "role": p.role, "key": keys.create_key(ctx.conn, p.name, p.role, ctx.actor)}


class NoParams(Params):
    pass


class KeyInfo(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class KeyList(RootModel[list[KeyInfo]]):
    """Every key, never its secret."""


@operation("keys.list", params=NoParams, result=KeyList, kind="read", role="admin", method="GET", path="/keys",
           cli=("keys", "list"))
def list_(ctx: Context, _p: NoParams) -> list[dict]:
    """Every key: name, role, prefix, when created and revoked (never the secret)."""
    from .. import keys

    return keys.list_keys(ctx.conn)


class KeyName(Params):
    name: str


class Revoked(Result):
    name: str
    revoked: bool


@operation("keys.revoke", params=KeyName, result=Revoked, kind="direct", role="admin", method="DELETE",
           path="/keys/{name}", cli=("keys", "revoke"))
def revoke(ctx: Context, p: KeyName) -> dict:
    """Revoke a key at once; its stats page sessions end with it."""
    from .. import keys

    keys.revoke_key(ctx.conn, p.name, ctx.actor)
    return {"name": p.name, "revoked": True}
