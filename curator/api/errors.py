"""Library errors become 4xx responses with their message (the table is shared with the job
runner: curator/ops/errors.py); anything unexpected stays a bare 500 (logged with its traceback
by the server), never a 500 that echoes ``str(exc)``."""

from __future__ import annotations

import duckdb
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from ..errors import CuratorError
from ..ops.errors import describe


async def _curator_error(_request: Request, exc: Exception) -> JSONResponse:
    body = describe(exc)
    code = body.pop("status")
    body.pop("type")
    return JSONResponse(body, status_code=code)


async def _write_conflict(_request: Request, _exc: Exception) -> JSONResponse:
    """Two requests changed the same rows at once; DuckDB aborted one of them cleanly."""
    return JSONResponse({"detail": "a concurrent request changed the same rows; retry"},
                        status_code=status.HTTP_409_CONFLICT)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CuratorError, _curator_error)
    app.add_exception_handler(duckdb.TransactionException, _write_conflict)
