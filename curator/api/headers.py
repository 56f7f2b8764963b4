"""Security headers on every response, and the cross-site check for cookie-authenticated writes.

The stats page is server-rendered with one inline stylesheet and no script, so its policy can be
strict: nothing loads from elsewhere, nothing may frame it, forms post only to this origin.
A browser sends the login cookie with any request to this host, including from Label Studio on
another port of the same host (same-site, so SameSite=Strict does not stop it); a write that
authenticates by that cookie must therefore come from a page of this service: its ``Origin``
(or, without one, its ``Referer``) must be this service's own origin. Bearer-key clients send no
cookie and are not affected.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .sessions import bearer_key

PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
# same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the page's
# own form posts (Fetch standard), and the cross-site check below could not tell them apart.
COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
          (b"x-frame-options", b"DENY"), (b"cross-origin-resource-policy", b"same-origin")]
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
COOKIE = "curator_session"
# The interactive docs load Swagger UI's script from its CDN; they are off in prod (api/app.py).
DOCS = ("/docs", "/redoc")


def _origin_of(value: str) -> str | None:
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def cross_site(scope: Scope) -> str | None:
    """Why an unsafe, cookie-authenticated request (or any login/logout post) is refused, or None."""
    if scope["method"] in SAFE_METHODS:
        return None
    headers = Headers(scope=scope)
    by_cookie = COOKIE in headers.get("cookie", "") and bearer_key(headers.get("authorization")) is None
    if not by_cookie and scope["path"] not in ("/login", "/logout"):
        return None
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
    sent = headers.get("origin") or headers.get("referer")
    claimed = _origin_of(sent) if sent else None
    if claimed == own or (sent is None and not by_cookie):
        return None
    return (f"cross-site request refused: a browser session may write only from {own} "
            f"(Origin {claimed or 'missing'}); API clients send Authorization: Bearer <key> instead")


class SecurityHeaders:
    """ASGI middleware: headers on every response (outermost, so the body cap's 413 has them too);
    403 for cross-site cookie writes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = list(COMMON)
        if not scope["path"].startswith(DOCS):
            extra.append((b"content-security-policy", PAGE_POLICY.encode()))
        refused = cross_site(scope)
        if refused:
            body = orjson.dumps({"detail": refused})
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                                    (b"content-length", str(len(body)).encode()), *extra]})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent = message.get("headers", [])
                # Answers hold the store's data and the page its CSRF token: no cache keeps them.
                cache = [] if any(k.lower() == b"cache-control" for k, _ in sent) else [(b"cache-control", b"no-store")]
                message["headers"] = [*sent, *extra, *cache]
            await send(message)

        await self.app(scope, receive, with_headers)


class AllowedMethods:
    """ASGI middleware: a 405's ``Allow`` lists every method of the resource. Starlette names only
    the methods of the first route whose path matched, while ``/keys`` (say) is several routes, one
    per method; the OpenAPI document, and clients, see the resource as a whole."""

    def __init__(self, app: ASGIApp, routes: list) -> None:
        self.app, self.routes = app, routes  # every route, in routing order (filled after this is added)

    def allowed(self, scope: Scope) -> str:
        from starlette.routing import Match

        matched = [r for r in self.routes if r.matches(scope)[0] != Match.NONE]
        # The most specific template is the resource (/training-runs/compare, not /training-runs/{run_id}).
        template = min(matched, key=lambda r: r.path.count("{")).path if matched else None
        methods = {m for r in matched if r.path == template for m in r.methods}
        return ", ".join(sorted(methods))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def fixed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                message["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"].append((b"allow", self.allowed(scope).encode()))
            await send(message)

        await self.app(scope, receive, fixed)
