"""Which candidates ``review push`` sends, and in which order: ``--source``, ``--kind``,
``--where``, ``--order``, ``--limit``.

``--where`` is the user's own SQL boolean expression over the columns of ``examples``. It is not
trusted: the statement it makes is checked by the project's read-only SQL guard
(``curator.readonly_sql``) twice, first with ``examples`` masked as a CTE and no table readable,
so the predicate can name no other table (a subquery on ``reviews`` or ``api_keys`` is refused),
then as the steward's query it is; it runs in a read-only transaction with the ``/sql`` time limit.
Only the matching ids come back; the candidates (in the order asked) are narrowed to them here,
so the candidates query keeps its parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import duckdb

from curator import readonly_sql
from curator.errors import InputError
from curator.sqlfiles import query

from .db import fetch
from .queue_order import order_candidates

Order = Literal["id", "newest", "random", "uncertainty", "coverage"]
ORDERS: tuple[str, ...] = get_args(Order)
SQL_ORDERS = ("id", "newest", "random")
# No role reads any table here: the only relation the predicate may name is the examples CTE.
_NO_TABLES_ROLE = "examples-only"
_MAX_IDS = 50_000_000


@dataclass(frozen=True)
class Selection:
    """The push options that pick candidates (see ``curator.ops.review.PushParams``)."""
    limit: int | None = None
    sources: list[str] | None = None
    kinds: list[str] | None = None
    order: Order = "id"
    seed: int = 0
    include_flagged: bool = False
    where: str | None = None
    where_timeout_s: float = 30.0


def where_sql(predicate: str) -> str:
    """The statement a ``--where`` predicate runs as (``SELECT id FROM examples WHERE (…)``)."""
    return query("review.where_ids").replace("{predicate}", predicate)


def _refused(predicate: str, exc: Exception) -> InputError:
    return InputError(f"--where {predicate!r} refused: {exc} (a boolean expression over the columns of examples, "
                      "such as \"kind = 'extracted' AND id > 100\"; no other table)")


def check_where(conn: duckdb.DuckDBPyConnection, predicate: str) -> None:
    """Refuse (``InputError`` naming ``--where``) a predicate that is not one read-only
    expression over ``examples`` alone."""
    try:
        with conn.cursor() as cursor:
            readonly_sql.check(cursor, "WITH examples AS (SELECT NULL AS id)\n" + where_sql(predicate),
                               role=_NO_TABLES_ROLE)
    except readonly_sql.SqlRefused as exc:
        raise _refused(predicate, exc) from None


def where_ids(conn: duckdb.DuckDBPyConnection, predicate: str, timeout_s: float) -> list[int]:
    """Ids of the examples ``predicate`` selects; an ``InputError`` naming ``--where`` when the
    guard refuses it or it fails to run (unknown column, wrong type, past the time limit)."""
    check_where(conn, predicate)
    try:
        with conn.cursor() as cursor:
            result = readonly_sql.run(cursor, where_sql(predicate), _MAX_IDS, timeout_s, role="steward",
                                      max_bytes=1 << 30)
    except (readonly_sql.SqlRefused, readonly_sql.SqlTimeout) as exc:
        raise _refused(predicate, exc) from None
    if result.truncated:
        raise InputError(f"--where {predicate!r} matches more examples than a push can narrow to; narrow it")
    return [row[0] for row in result.rows]


def select_candidates(conn: duckdb.DuckDBPyConnection, project: int, sel: Selection) -> tuple[list[dict], dict]:
    """(candidates in push order, why: what the order and the filters did)."""
    if sel.order not in ORDERS:
        raise InputError(f"--order must be one of {', '.join(ORDERS)}, got {sel.order!r}")
    ids = set(where_ids(conn, sel.where, sel.where_timeout_s)) if sel.where is not None else None
    in_sql = sel.order in SQL_ORDERS and ids is None  # else every candidate, narrowed and cut here
    candidates = fetch(conn, "review.candidates", {
        "project": project, "limit": sel.limit if sel.limit is not None and in_sql else 2**62,
        "sources": sel.sources or None, "kinds": sel.kinds or None,
        "order": sel.order if sel.order in SQL_ORDERS else "id", "seed": sel.seed,
        "include_flagged": sel.include_flagged})
    if ids is not None:
        candidates = [c for c in candidates if c["id"] in ids]
    why = {"order": sel.order}
    if sel.order not in SQL_ORDERS:
        candidates, why = order_candidates(conn, candidates, sel.order)
    if ids is not None:
        why |= {"where": sel.where, "where_matched": len(ids)}
    return (candidates if in_sql or sel.limit is None else candidates[:sel.limit]), why
