"""One table from library errors to what a client sees (an HTTP status and a body), used by the
API for direct calls and by the job runner for a failed job, so both faces report alike."""

from __future__ import annotations

from ..errors import ConflictError, CuratorError, NotFoundError, StoreLockedError, TooLargeError
from ..readonly_sql import SqlRefused, SqlTimeout
from ..training_jobs import TrainingRunNotFound, VersionNotApproved
from ..versions.errors import LeakageFound, VersionImmutable, VersionNotFound, VersionTampered
from .base import JobCancelled

# Most specific first; CuratorError (bad input, unknown key, …) is the 400 fallback.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (TooLargeError, 413),
    (StoreLockedError, 503),
    (NotFoundError, 404),
    (VersionNotFound, 404),
    (TrainingRunNotFound, 404),
    (SqlTimeout, 408),
    (SqlRefused, 400),
    (JobCancelled, 409),
    (ConflictError, 409),
    (LeakageFound, 409),
    (VersionImmutable, 409),
    (VersionTampered, 409),
    (VersionNotApproved, 409),
    (CuratorError, 400),
)


def status_of(exc: Exception) -> int:
    from annotation.client import LabelStudioAPIError

    if isinstance(exc, LabelStudioAPIError):
        return 502  # the review tool failed or refused, not this request
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def describe(exc: Exception) -> dict:
    """What a client gets to know of a failure: the message of a library error, and for anything
    else (a bug) only its type, never internals."""
    code = status_of(exc)
    detail = str(exc) if code != 500 else (f"internal error ({exc.__class__.__name__}); the service log has the "
                                          "traceback: please report it")
    body = {"type": exc.__class__.__name__, "status": code, "detail": detail}
    if isinstance(exc, LeakageFound):
        body["leakage"] = exc.report
    return body
