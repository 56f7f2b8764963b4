"""``curator review status``: queues, throughput per reviewer, agreement, rejection reasons.

Throughput, reasons and agreement are counted by outcome (sql/queries/review_counts.sql), the
definition `curator stats` and the stats page read too."""

from __future__ import annotations

import duckdb

from curator.store import rows

from .agreement import agreement


def review_status(conn: duckdb.DuckDBPyConnection, examples: bool = False) -> dict:
    throughput = rows(conn, "review_counts.by_reviewer", {"by_project": True})
    for t in throughput:
        span = (t["last_at"] - t["first_at"]).total_seconds() if t["first_at"] and t["last_at"] else 0
        t["per_hour"] = round(t["reviews"] * 3600 / span, 1) if span > 0 else None
    agree = agreement(rows(conn, "review_counts.ratings_matrix"))
    if not examples:
        agree.pop("examples")
    return {"projects": rows(conn, "review.projects"), "queue": rows(conn, "review.queue")[0],
            "throughput": throughput, "agreement": agree,
            "rejection_reasons": {r["reason"]: r["n"] for r in rows(conn, "review_counts.reasons")}}
