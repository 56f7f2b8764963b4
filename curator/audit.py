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


def record_audits(conn: duckdb.DuckDBPyConnection, entries: list[tuple[str, str, str | None, Any]]) -> None:
    """Many ``(actor, action, target, details)`` rows with one insert, in the given order: a batch
    of webhook deliveries keeps one audit row each without paying a statement per row (it was a
    fifth of the service's time under a burst of deliveries). Call inside the change's transaction."""
    if not entries:
        return
    import pyarrow as pa

    staged = pa.table({"ordinal": pa.array(range(len(entries)), pa.int64()),
                       "actor": [e[0] for e in entries], "action": [e[1] for e in entries],
                       "target": pa.array([e[2] for e in entries], pa.string()),
                       "details": [orjson.dumps(e[3] or {}).decode() for e in entries]})
    conn.register("staged_audit", staged)  # on ``conn`` itself: a cursor would be another transaction
    try:
        conn.execute(query("audit.record_many"))
    finally:
        conn.unregister("staged_audit")

