"""Browser sessions for the stats page: the login cookie carries a signed, expiring session, never
the API key itself, so the long-lived key is not stored in the browser.

The token is ``key_id.expires.signature`` where the signature is an HMAC-SHA256, under the
service's session secret, of the key id, the expiry and the key's stored hash. No table is
needed (the API process owns the store and login should not write to it), yet revoking the key
ends its sessions at once: verification reads the key row again and a revoked key has none.
Hand-written because the few lines of ``hmac`` are all it takes (itsdangerous would add a
dependency for the same)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import duckdb

from ..keys import Principal
from ..sqlfiles import query


def bearer_key(authorization: str | None) -> str | None:
    """The API key of an ``Authorization: Bearer <key>`` header, or None: then the request
    authenticates by the session cookie, if at all. The one rule the principal, the CSRF check and
    the Origin check share: a Basic or Negotiate header a browser attaches by itself, or an empty
    Bearer, must not exempt a cookie-authenticated write from either check."""
    scheme, _, key = (authorization or "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def _sign(secret: bytes, key_id: int, expires: int, key_hash: str) -> str:
    mac = hmac.new(secret, f"{key_id}.{expires}.{key_hash}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _key_row(conn: duckdb.DuckDBPyConnection, key_id: int) -> tuple | None:
    found = conn.execute(query("keys.by_id"), {"id": key_id}).fetchall()
    return found[0] if found else None


def issue(conn: duckdb.DuckDBPyConnection, principal: Principal, secret: bytes, ttl_s: int) -> str:
    _, _, _, key_hash = _key_row(conn, principal.key_id)
    expires = int(time.time()) + ttl_s
    return f"{principal.key_id}.{expires}.{_sign(secret, principal.key_id, expires, key_hash)}"


class Revoked:
    """Tokens logged out before they expired. Held in memory: login writes nothing to the store, and
    a logged-out token would expire within the session TTL anyway; a restart with a fixed
    CURATOR_SESSION_SECRET forgets them (SECURITY.md says so)."""

    def __init__(self) -> None:
        self._until: dict[str, int] = {}

    def add(self, token: str) -> None:
        now = time.time()
        self._until = {t: e for t, e in self._until.items() if e >= now}
        try:
            self._until[token] = int(token.split(".")[1])
        except (IndexError, ValueError):
            return

    def __contains__(self, token: str) -> bool:
        return token in self._until


def verify(conn: duckdb.DuckDBPyConnection, token: str, secret: bytes,
           revoked: Revoked | None = None) -> Principal | None:
    """The caller of a session token, or None when it is malformed, expired, forged, logged out
    or its key revoked."""
    if revoked is not None and token in revoked:
        return None
    try:
        key_id_s, expires_s, signature = token.split(".")
        key_id, expires = int(key_id_s), int(expires_s)
    except ValueError:
        return None
    if expires < time.time():
        return None
    row = _key_row(conn, key_id)
    if row is None or not hmac.compare_digest(signature, _sign(secret, key_id, expires, row[3])):
        return None
    return Principal(row[0], row[1], row[2])
