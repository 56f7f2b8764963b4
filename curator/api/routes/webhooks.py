"""Label Studio's annotation events. Authenticated by a shared secret header (Label Studio sends
the headers its webhook was registered with), not by an API key: a call without the secret is a
401 and changes nothing. Recording is idempotent, so a repeat or a later pull adds nothing."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from ...store import WRITE_LOCK
from ..deps import Conn, SettingsDep

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _record(conn, payload: dict, min_similarity: float) -> dict:
    from annotation.pull import handle_webhook

    with WRITE_LOCK:
        return handle_webhook(conn, payload, min_similarity)


def _adjudicate(app, settings) -> None:
    """After the response: disputed examples get their adjudication task (Label Studio is
    waiting on our answer while the webhook runs, so we never call it back from inside)."""
    from annotation.client import LabelStudioAPIError
    from annotation.push import push_adjudication

    from .review import client_for

    cursor = app.state.conn.cursor()
    try:
        with WRITE_LOCK, client_for(settings) as client:
            push_adjudication(cursor, client, "label-studio:webhook")
    except LabelStudioAPIError:
        pass  # the next pull sends it
    finally:
        cursor.close()


@router.post("/label-studio")
async def label_studio(request: Request, conn: Conn, settings: SettingsDep, background: BackgroundTasks,
                       x_curator_webhook_secret: str | None = Header(None)) -> dict:
    if not x_curator_webhook_secret or not hmac.compare_digest(x_curator_webhook_secret.encode(),
                                                                settings.webhook_secret.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong X-Curator-Webhook-Secret header")
    try:
        payload = await request.json()
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "webhook body must be a JSON object")
    try:
        result = await run_in_threadpool(_record, conn, payload, settings.review_min_edit_similarity)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if result.get("outcomes", {}).get("disputed"):
        background.add_task(_adjudicate, request.app, settings)
    return result
