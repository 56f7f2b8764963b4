"""The stewards' numbers as operations: the stats report and read-only SQL."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

from .base import Context, Params, Result, operation


# Longer than any context window, and inside DuckDB's INTEGER (2^31 was a 500 and a traceback).
MAX_SEQ_LEN = 100_000_000


class StatsParams(Params):
    version: Optional[str] = Field(None, description="NAME@N: one version's stats")
    tokenizer: Optional[str] = Field(None, description="local tokenizer.json or model directory for token lengths "
                                     "(default $CURATOR_STATS_TOKENIZER; unset: characters)")
    max_seq_len: Optional[int] = Field(None, gt=0, le=MAX_SEQ_LEN, description="count examples longer than this")


class StatsResult(Result):
    scope: str
    counts: dict
    lengths: dict


@operation("stats", params=StatsParams, result=StatsResult, kind="read", role="steward", method="GET",
           path="/stats/report", cli=("stats",),
           local_only_fields=("tokenizer",))
def stats(ctx: Context, p: StatsParams) -> dict:
    """Counts by source, kind, status and split; lengths by role; funnel; rejections; reviewers; duplicates; cost."""
    from .. import lengths
    from .. import stats as lib

    s = ctx.settings
    tokenizer = p.tokenizer or s.stats_tokenizer
    ctr = lengths.counter(tokenizer)
    todo = lengths.missing_examples(ctx.conn, ctr) if ctr.count is not None and s.stats_cache else 0
    if todo:  # tokenizing is the slow part: fill the cache first, with progress
        lengths.refresh_examples(ctx.conn, ctr, lambda done: ctx.progress(done, todo, "examples",
                                                                          f"lengths in {ctr.label}"))
    rep = lib.report(ctx.conn, p.version, tokenizer, p.max_seq_len or s.max_seq_len, s.stats_cache)
    return rep if p.version else lib.cached_overview(ctx.conn, s.stats_cache) | rep


class SqlParams(Params):
    sql: str = Field(min_length=1, max_length=100_000, description="one SELECT statement")
    max_rows: Optional[int] = Field(None, gt=0, description="at most this many rows (capped by CURATOR_SQL_MAX_ROWS)")


class SqlResult(Result):
    """A truncated answer also says ``truncated_by`` (rows, bytes, time or error) and, when the query
    failed after rows were sent (POST /sql streams), the ``error``."""

    columns: list[str]
    rows: list[list]
    row_count: int
    truncated: bool
    max_rows: int


@operation("sql", params=SqlParams, result=SqlResult, kind="read", role="steward", method="POST", path="/sql",
           cli=("sql",))
def sql(ctx: Context, p: SqlParams) -> dict:
    """Run one read-only SELECT on the tables the caller's role may read (checked, capped in rows and bytes,
    timed out); each query is audited."""
    from .. import readonly_sql

    outcome = "ok"
    try:
        with ctx.conn.cursor() as cursor:
            s = ctx.settings
            cap = sql_row_cap(s, p)
            answer = readonly_sql.run(cursor, p.sql, cap, s.sql_timeout_s, **sql_limits(ctx))
            return answer.as_dict() | {"max_rows": cap}
    except readonly_sql.SqlTimeout:
        outcome = "timeout"
        raise
    except readonly_sql.SqlRefused:
        outcome = "refused"
        raise
    finally:  # an append only: it does not wait for a running writing job
        audit_sql(ctx, p.sql, outcome)


def sql_row_cap(settings, p: SqlParams) -> int:
    return min(p.max_rows or settings.sql_max_rows, settings.sql_max_rows)


def sql_limits(ctx: Context) -> dict:
    """The guard's settings for ``ctx``'s caller (POST /sql streams with the same ones)."""
    s = ctx.settings
    return {"role": ctx.role, "max_bytes": s.sql_max_bytes, "table_functions": s.sql_table_functions,
            "hide": tuple(str(path.resolve()) for path in (s.db.parent, s.state_dir))}


def audit_sql(ctx: Context, text: str, outcome: str) -> None:
    from ..audit import record_audit

    with ctx.conn.cursor() as cursor:
        record_audit(cursor, ctx.actor, "sql.query", None, {"sql": text[:2000], "outcome": outcome})
