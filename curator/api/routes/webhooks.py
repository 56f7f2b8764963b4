"""Label Studio's annotation events. Authenticated by a shared secret header (Label Studio sends
the headers its webhook was registered with), not by an API key: a call without the secret is a
401 and changes nothing.

A delivery is checked (JSON, an annotation this labeling config can produce), written to the
durable inbox and acknowledged; the job runner applies it in arrival order, between jobs, so a
long writing job never makes Label Studio time out and drop an event (it does not retry)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from .. import jsonbody
from ..deps import SettingsDep

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("/label-studio", status_code=202)
async def label_studio(request: Request, settings: SettingsDep,
                       x_curator_webhook_secret: str | None = Header(None)) -> dict:
    from annotation.parse import InvalidAnnotation
    from annotation.pull import parse_webhook

    if not x_curator_webhook_secret or not hmac.compare_digest(x_curator_webhook_secret.encode(),
                                                                settings.webhook_secret.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong X-Curator-Webhook-Secret header")
    try:
        body = await request.body()
    except ClientDisconnect:  # Label Studio hung up (its 1 s timeout): nothing queued, the pull recovers it
        return {"action": None, "queued": None, "disconnected": True}
    try:  # Label Studio's Content-Type is not checked: the secret header is what no other site can send
        payload = jsonbody.loads(body, None, require_type=False)
    except RequestValidationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"webhook body: {exc.errors()[0]['msg']}") from None
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "webhook body must be a JSON object")
    try:
        parsed = parse_webhook(payload)
    except (InvalidAnnotation, AttributeError, TypeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"invalid annotation: {exc}") from None
    if parsed is None:
        return {"action": payload.get("action"), "ignored": True}
    runner = request.app.state.runner
    delivery = await run_in_threadpool(runner.inbox.append, body)
    runner.notify_inbox()
    return {"action": parsed[0], "queued": delivery}

