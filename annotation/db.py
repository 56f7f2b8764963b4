"""Named queries run on the connection itself.

``curator.store.rows`` opens a cursor, and a DuckDB cursor is a connection of its own: inside a
transaction it does not see that transaction's uncommitted rows. Recording a review and then
deciding the example's outcome happen in one transaction, so the reads here must not use one."""

from __future__ import annotations

import duckdb

from curator.sqlfiles import query


def fetch(conn: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> list[dict]:
    result = conn.execute(query(name), params or {})
    columns = [c[0] for c in result.description]
    return [dict(zip(columns, row)) for row in result.fetchall()]
