"""CSRF tokens for the page's cookie-authenticated requests (OWASP's signed double-submit cookie),
on top of the Origin check in ``api/headers.py``.

The token is an HMAC-SHA256, under the service's session secret, of a value the browser holds in
an HttpOnly cookie: the login session once logged in, before that a random pre-session cookie
that ``GET /login`` sets. A page of another origin can neither read that cookie nor compute the
HMAC; a same-site page (Label Studio on another port) can plant a cookie, but not sign one.
Forms carry the token in a hidden ``csrf_token`` field (``/login``, ``/logout``); any other unsafe
request authenticated by the session cookie sends it in ``X-CSRF-Token`` (a script on the page
reads it from the logout form's field). Bearer-key clients send no cookie and need none.

Hand-written on the existing secret, not a library: starlette-csrf reads the token only from a
header, which a plain form cannot send (the page runs no script: its CSP forbids any), and
asgi-csrf guards POST only and parses form bodies itself, ahead of the body cap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

import orjson
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from .sessions import bearer_key

PRESESSION_COOKIE = "curator_presession"
SESSION_COOKIE = "curator_session"  # api/deps.py KEY_COOKIE; repeated here so deps need not be imported
FIELD = "csrf_token"
HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FORM_ROUTES = ("/login", "/logout")  # these check the form field themselves (api/routes/page.py)
_PRESESSION = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token(secret: bytes, binding: str) -> str:
    """The token for the cookie value ``binding``."""
    mac = hmac.new(secret, b"csrf:" + binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def valid(secret: bytes, binding: str | None, sent: str | None) -> bool:
    return bool(binding and sent) and hmac.compare_digest(sent.encode(), token(secret, binding).encode())


def presession(cookies: dict[str, str]) -> str:
    """The browser's pre-session value: kept while well-formed, so several open login tabs agree."""
    found = cookies.get(PRESESSION_COOKIE, "")
    return found if _PRESESSION.match(found) else secrets.token_urlsafe(32)


def refusal(where: str) -> str:
    return (f"CSRF token missing or wrong: {where}; reload the page and try again "
            "(API clients send Authorization: Bearer <key> instead)")


class CsrfCheck:
    """ASGI middleware: a 403 for an unsafe request that authenticates by the session cookie
    (no usable Bearer key: a Basic header or an empty Bearer does not count) without the
    session's token in ``X-CSRF-Token``."""

    def __init__(self, app: ASGIApp, secret: bytes) -> None:
        self.app, self.secret = app, secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE and scope["path"] not in FORM_ROUTES:
            conn = HTTPConnection(scope)
            session = conn.cookies.get(SESSION_COOKIE)
            if session and bearer_key(conn.headers.get("authorization")) is None \
                    and not valid(self.secret, session, conn.headers.get(HEADER)):
                body = orjson.dumps({"detail": refusal("a write from the page sends its token in X-CSRF-Token")})
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
