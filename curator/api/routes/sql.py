"""POST /sql, streamed: the same operation as `curator sql` (its parameters, role, guard, caps and
audit), but the answer is written while DuckDB produces it instead of being built whole first.

The first batch of rows is fetched before the response starts, so a refused query, a failure or a
timeout before any row is still a 400/408 with one message. After that the body is one JSON object
written in pieces: ``{"columns": [...], "rows": [`` then rows a batch at a time, then
``], "row_count": …, "truncated": …, "max_rows": …, "seconds": …}``; the fields after the rows say
whether a cap (or the time limit, or a late failure: ``truncated_by``, ``error``) cut them short,
so a capped body still ends as valid JSON that clients read as before.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterator

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from ... import readonly_sql
from ...keys import Principal
from ...ops import Context, get
from ...ops.stats import audit_sql, sql_limits, sql_row_cap
from ..deps import actor, require
from .operations import openapi_extra, read_params, responses

router = APIRouter(tags=["sql"])
OP = get("sql")


def _body(answer: readonly_sql.Answer, max_rows: int, finish: Callable[[], None] = lambda: None) -> Iterator[bytes]:
    yield b'{"columns":' + orjson.dumps(answer.columns) + b',"rows":['
    sep = b""
    for batch in answer.batches():
        yield sep + b",".join(batch)
        sep = b","
    finish()  # before the last bytes: a client that has the whole answer finds the query audited
    tail = answer.summary()  # in the order of the result model's fields, as `curator sql --json` prints locally
    yield b"]," + orjson.dumps({"row_count": 0, "truncated": False, "max_rows": max_rows} | tail)[1:]


def _open(ctx: Context, params) -> readonly_sql.Answer:
    """Start the query on a cursor of its own; a refusal or early timeout is audited here."""
    cursor = ctx.conn.cursor()
    try:
        return readonly_sql.open_query(cursor, params.sql, sql_row_cap(ctx.settings, params),
                                       ctx.settings.sql_timeout_s, **sql_limits(ctx))
    except BaseException as exc:
        cursor.close()
        if isinstance(exc, (readonly_sql.SqlTimeout, readonly_sql.SqlRefused)):
            audit_sql(ctx, params.sql, "timeout" if isinstance(exc, readonly_sql.SqlTimeout) else "refused")
        raise


def _finish(ctx: Context, answer: readonly_sql.Answer, text: str) -> None:
    """End the transaction, free the cursor and audit, once: at the end of the rows, or after a
    client that left mid-stream."""
    if answer.close():
        answer.conn.close()
        audit_sql(ctx, text, "timeout" if answer.stopped == "time" else "ok")


@router.post(OP.path, summary=OP.summary, response_model=None, status_code=OP.status_code,
             openapi_extra=openapi_extra(OP), responses=responses(OP))
async def sql(request: Request, caller: Principal = Depends(require(OP.role))) -> StreamingResponse:
    params = await read_params(request, OP)
    app = request.app
    ctx = Context(app.state.conn, app.state.settings, actor(caller, request), role=caller.role)
    answer = await run_in_threadpool(_open, ctx, params)
    finish = partial(_finish, ctx, answer, params.sql)
    return StreamingResponse(_body(answer, sql_row_cap(ctx.settings, params), finish), media_type="application/json",
                             background=BackgroundTask(finish))


sql.__doc__ = OP.fn.__doc__
