"""Library errors become 4xx responses with their message; anything unexpected stays a bare
500 (logged with its traceback by the server), never a 500 that echoes ``str(exc)``."""

from __future__ import annotations

import duckdb
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from ..errors import CuratorError, StoreLockedError
from ..versions.errors import LeakageFound, VersionImmutable, VersionNotFound, VersionTampered
from ..training_jobs import TrainingRunNotFound, VersionNotApproved
from .uploads import UploadTooLarge

# Most specific first; CuratorError (bad input, unknown key, …) is the 400 fallback.
STATUS: tuple[tuple[type[CuratorError], int], ...] = (
    (UploadTooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
    (StoreLockedError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (VersionNotFound, status.HTTP_404_NOT_FOUND),
    (TrainingRunNotFound, status.HTTP_404_NOT_FOUND),
    (LeakageFound, status.HTTP_409_CONFLICT),
    (VersionImmutable, status.HTTP_409_CONFLICT),
    (VersionTampered, status.HTTP_409_CONFLICT),
    (VersionNotApproved, status.HTTP_409_CONFLICT),
    (CuratorError, status.HTTP_400_BAD_REQUEST),
)


async def _curator_error(_request: Request, exc: Exception) -> JSONResponse:
    code = next(code for cls, code in STATUS if isinstance(exc, cls))
    body = {"detail": str(exc)}
    if isinstance(exc, LeakageFound):
        body["leakage"] = exc.report
    return JSONResponse(body, status_code=code)


async def _write_conflict(_request: Request, _exc: Exception) -> JSONResponse:
    """Two requests changed the same rows at once; DuckDB aborted one of them cleanly."""
    return JSONResponse({"detail": "a concurrent request changed the same rows; retry"},
                        status_code=status.HTTP_409_CONFLICT)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CuratorError, _curator_error)
    app.add_exception_handler(duckdb.TransactionException, _write_conflict)
