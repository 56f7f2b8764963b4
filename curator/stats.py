"""Dataset statistics from the named queries in ``sql/queries/stats.sql``."""

from __future__ import annotations

import duckdb

from .store import rows as _rows


def overview(conn: duckdb.DuckDBPyConnection) -> dict:
    """Counts of sources, documents, examples by kind and status, rejects by reason, exact duplicates
    skipped, and near-duplicates marked by the latest dedup run of each target."""
    return {
        "totals": _rows(conn, "stats.totals")[0],
        "documents_by_kind": {r["kind"]: r["n"] for r in _rows(conn, "stats.documents_by_kind")},
        "examples_by_kind_status": _rows(conn, "stats.examples_by_kind_status"),
        "rejects_by_reason": {r["code"]: r["n"] for r in _rows(conn, "stats.rejects_by_reason")},
        "duplicates_skipped": {r["target"]: r["n"] for r in _rows(conn, "stats.duplicates_by_target")},
        "by_source": _rows(conn, "stats.by_source"),
        "near_duplicates": _rows(conn, "stats.near_duplicates"),
    }


def sources(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    return _rows(conn, "stats.sources")
