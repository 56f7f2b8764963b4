"""The store itself as operations: migrate it (``init``) and say what this installation will do."""

from __future__ import annotations

from .base import Context, Params, Result, operation


class NoParams(Params):
    pass


class InitResult(Result):
    db: str
    applied: list[str]


@operation("init", params=NoParams, result=InitResult, kind="job", role="admin", method="POST", path="/store/migrate",
           cli=("init",), store="connect")
def init(ctx: Context, _p: NoParams) -> dict:
    """Create the store, or migrate it to the current schema (a no-op when up to date)."""
    from ..store import migrate

    return {"db": str(ctx.settings.db), "applied": migrate(ctx.conn)}


class DoctorResult(Result):
    store: dict
    model: dict
    pii: dict
    label_studio: dict
    optional: dict


@operation("doctor", params=NoParams, result=DoctorResult, kind="read", role="steward", method="GET", path="/doctor",
           cli=("doctor",), store="none")
def doctor(ctx: Context, _p: NoParams) -> dict:
    """What this installation will do: store, model endpoint, active PII detectors, optional parts."""
    from ..doctor import diagnose

    return diagnose(ctx.settings, ctx.conn)
