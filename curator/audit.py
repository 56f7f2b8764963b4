"""Every state change leaves a row in ``audit_log``: who, what, on which target, when."""

from __future__ import annotations

import getpass
from typing import Any

import duckdb
import orjson

from .sqlfiles import query


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def recent(conn: duckdb.DuckDBPyConnection, limit: int = 100) -> list[dict]:
    """Newest first, details decoded."""
    from .store import rows

    return [row | {"details": orjson.loads(row["details"])} for row in rows(conn, "audit.recent", {"limit": limit})]


def record_audit(conn: duckdb.DuckDBPyConnection, actor: str, action: str, target: str | None,
                 details: Any = None) -> None:
    """Call inside the transaction of the change it records."""
    conn.execute(query("audit.record"), {"actor": actor, "action": action, "target": target,
                                         "details": orjson.dumps(details or {}).decode()})
