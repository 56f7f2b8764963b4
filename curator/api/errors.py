"""Library errors become 4xx responses with their message (the table is shared with the job
runner: curator/ops/errors.py); anything unexpected stays a bare 500 (logged with its traceback
by the server), never a 500 that echoes ``str(exc)``. Every error body goes through
``jsonbody.safe``: a validation error echoes the caller's input, which must not be what makes
the answer unserialisable (a 500 instead of the 422)."""

from __future__ import annotations

import duckdb
from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import CuratorError
from ..ops.errors import describe
from .jsonbody import safe


async def _curator_error(_request: Request, exc: Exception) -> JSONResponse:
    body = describe(exc)
    code = body.pop("status")
    body.pop("type")
    return JSONResponse(safe(body), status_code=code)


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": safe(exc.errors())}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _http_error(request: Request, exc: Exception):
    exc.detail = safe(exc.detail)
    return await http_exception_handler(request, exc)


async def _write_conflict(_request: Request, _exc: Exception) -> JSONResponse:
    """Two requests changed the same rows at once; DuckDB aborted one of them cleanly."""
    return JSONResponse({"detail": "a concurrent request changed the same rows; retry"},
                        status_code=status.HTTP_409_CONFLICT)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CuratorError, _curator_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(duckdb.TransactionException, _write_conflict)
