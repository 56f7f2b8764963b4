"""The webhook inbox as operations: what waits and what was set aside (a read), and an admin's
retry or drop of a set-aside delivery (each with its audit row). A delivery is set aside when it
cannot be applied (``curator/jobs/runner.py``), so one bad delivery never holds back the others."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from ..audit import record_audit
from ..inbox import NAME, Inbox
from ..store import transaction
from .base import Context, Params, Result, operation


class NoParams(Params):
    pass


class Delivery(BaseModel):
    name: str
    reason: Optional[str]
    tries: Optional[int]
    set_aside_at: Optional[str]
    action: Optional[str]
    annotations: list
    task: Optional[int | str]
    bytes: int
    sha256: str


class InboxResult(Result):
    pending: int = Field(description="deliveries acknowledged and not applied yet")
    set_aside: list[Delivery] = Field(description="deliveries that could not be applied, oldest first")


def counts(ctx: Context) -> dict:
    """Pending and set-aside counts, for ``review status``."""
    inbox = Inbox(ctx.settings.inbox_dir, create=False)
    return {"pending": len(inbox.pending()), "set_aside": len(inbox.set_aside())}


@operation("review.inbox", params=NoParams, result=InboxResult, kind="read", role="steward", method="GET",
           path="/webhooks/inbox", cli=("review", "inbox"))
def show(ctx: Context, _p: NoParams) -> dict:
    """Webhook deliveries waiting to be applied, and those set aside with their reasons."""
    inbox = Inbox(ctx.settings.inbox_dir, create=False)
    return {"pending": len(inbox.pending()), "set_aside": inbox.set_aside()}


class DeliveryName(Params):
    name: str = Field(pattern=NAME.pattern, description="the delivery's name, as `review inbox` lists it")


class Handled(Delivery):
    done: Literal["retried", "dropped"]


def _handle(ctx: Context, name: str, how: Literal["retried", "dropped"]) -> dict:
    """The file moves inside the audit row's transaction: a refused move leaves no row."""
    inbox = Inbox(ctx.settings.inbox_dir, create=False)
    with transaction(ctx.conn):
        entry = (inbox.retry if how == "retried" else inbox.drop)(name)
        record_audit(ctx.conn, ctx.actor, f"webhook.{'retry' if how == 'retried' else 'drop'}", name,
                     {k: entry[k] for k in ("reason", "tries", "action", "annotations", "task", "sha256", "bytes")})
    return entry | {"done": how}


@operation("review.inbox.retry", params=DeliveryName, result=Handled, kind="direct", role="admin", method="POST",
           path="/webhooks/inbox/{name}/retry", cli=("review", "retry-delivery"))
def retry(ctx: Context, p: DeliveryName) -> dict:
    """Put a set-aside webhook delivery back in the inbox; it is applied (or set aside again) next."""
    return _handle(ctx, p.name, "retried")


@operation("review.inbox.drop", params=DeliveryName, result=Handled, kind="direct", role="admin", method="DELETE",
           path="/webhooks/inbox/{name}", cli=("review", "drop-delivery"))
def drop(ctx: Context, p: DeliveryName) -> dict:
    """Delete a set-aside webhook delivery for good (its audit row keeps what it was and its SHA-256)."""
    return _handle(ctx, p.name, "dropped")
