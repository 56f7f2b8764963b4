"""Request dependencies as ``Annotated`` aliases, so a route's signature says what it needs:
a DuckDB cursor, the settings, and a caller whose role was checked before the route runs."""

from __future__ import annotations

import hmac
import threading
from typing import Annotated, Callable, Iterator

import duckdb
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..config import Settings, get_settings
from ..keys import Principal, verify_key
from . import sessions

_CURSOR_LOCK = threading.Lock()
# The holder of the service file's token (curator/service_file.py): the CLI of the user who runs
# the service. It never touches the api_keys table and ends with the service process.
LOCAL_OWNER = Principal(key_id=0, name="local-owner", role="admin")
# The stats page logs in by posting a key once; the browser then sends a signed, expiring session
# (api/sessions.py; never the key) in this HttpOnly, SameSite=Strict cookie instead of a Bearer header.
KEY_COOKIE = "curator_session"
_bearer = HTTPBearer(auto_error=False, description="an API key from `curator keys create` or POST /keys")


def _cursor(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    """One cursor per request: the process shares one connection, which is not thread-safe."""
    with _CURSOR_LOCK:
        cursor = request.app.state.conn.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


Conn = Annotated[duckdb.DuckDBPyConnection, Depends(_cursor)]
# create_app binds get_settings to its own Settings through dependency_overrides.
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _principal(request: Request, conn: Conn,
               _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller behind ``Authorization: Bearer <key>`` (or the page's login cookie); 401 (with
    the challenge) otherwise. ``_credentials`` only declares the scheme in the OpenAPI document:
    which of the two authenticates is decided by ``sessions.bearer_key``, as in the CSRF check."""
    key = sessions.bearer_key(request.headers.get("authorization"))
    if key:
        secret = key
        local = request.app.state.local_token
        principal = (LOCAL_OWNER if local and hmac.compare_digest(secret.encode(), local.encode())
                     else verify_key(conn, secret))
    else:
        secret = request.cookies.get(KEY_COOKIE)
        principal = sessions.verify(conn, secret, request.app.state.session_secret,
                                    request.app.state.revoked_sessions) if secret else None
    if principal is None:
        reason = ("invalid or revoked API key" if key else "expired or invalid login session") if secret \
            else "missing API key"
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"{reason}; send Authorization: Bearer <key>",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def require(role: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers whose role ranks at least ``role``."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"this route needs the {role} role; key {principal.name!r} has {principal.role}")
        return principal

    return check


Reviewer = Annotated[Principal, Depends(require("reviewer"))]
Steward = Annotated[Principal, Depends(require("steward"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def actor(principal: Principal, request: Request | None = None) -> str:
    """How API callers appear in audit_log and ingest_batches. The local owner's CLI (the token
    in the service file) names its OS user, so its rows read as they would in local mode."""
    if principal is LOCAL_OWNER and request is not None:
        said = request.headers.get("x-curator-actor", "")
        if said.startswith("cli:") and len(said) <= 100 and said.isprintable():
            return said
    return f"api:{principal.name}"
