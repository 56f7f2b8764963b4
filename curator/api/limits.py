"""A byte cap on every request body, enforced while the body streams in.

Routes authenticate before they read a body (auth is a dependency), but a body that is never
read still has to be refused early and a body that is read must not grow without bound: an
unauthenticated 104 MB JSON body once cost +400 MB before its 401. So a ``Content-Length`` over
the cap is a 413 before any route runs, and a body sent without one (chunked) is counted as it
arrives and cut off at the cap. Uploads (``/ingest``) have their own, larger cap for the whole
request; each file keeps its per-file limit in ``api/uploads.py``.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The body went past the cap while it was being read."""


def _reply_413(limit: int, what: str, setting: str) -> tuple[Message, Message]:
    body = orjson.dumps({"detail": f"{what} is larger than {limit} bytes (the service's {setting}; "
                                   "send less per request, or raise it)"})
    return ({"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]},
            {"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: ``max_body`` bytes for any request, ``max_upload`` for ``/ingest``."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        uploading = scope["path"].rstrip("/") == "/ingest"
        limit = self.max_upload if uploading else self.max_body
        what = "the upload request" if uploading else "the request body"
        setting = "CURATOR_MAX_UPLOAD_REQUEST_BYTES" if uploading else "CURATOR_MAX_BODY_BYTES"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            for message in _reply_413(limit, what, setting):
                await send(message)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            for message in _reply_413(limit, what, setting):
                await send(message)
