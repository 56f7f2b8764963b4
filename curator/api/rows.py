"""Named queries as lists of dicts, fetched through Arrow.

DuckDB's own conversion of TIMESTAMPTZ values to Python needs ``pytz``, which curator does not
depend on; Arrow converts them with ``zoneinfo``. Routes that return timestamps read through here.
"""

from __future__ import annotations

from typing import Any

import duckdb

from ..sqlfiles import query


def rows(conn: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> list[dict]:
    with conn.cursor() as cursor:  # sql() refuses to run beside an unfinished execute() result
        return cursor.sql(query(name), params=params).to_arrow_table().to_pylist()
