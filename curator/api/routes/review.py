"""Expert review: status (reviewers may read it), push and pull (stewards), and the service's
periodic reconciliation pull. Label Studio failures are a 502 naming what Label Studio said."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Optional

from fastapi import APIRouter, FastAPI, HTTPException, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...config import Settings
from ...errors import CuratorError
from ...store import WRITE_LOCK
from ..deps import Conn, Reviewer, SettingsDep, Steward, actor

router = APIRouter(prefix="/review", tags=["review"])
log = logging.getLogger("curator.review")


class PushRequest(BaseModel):
    limit: int | None = Field(None, ge=1, description="push at most this many candidates (by id)")
    overlap: Optional[int] = Field(None, ge=1, le=10, description="independent reviews wanted per task "
                                   "(default: the project's current overlap)")


def client_for(settings: Settings):
    from annotation.client import LabelStudio

    return LabelStudio(settings.label_studio_url, settings.label_studio_token.get_secret_value())


def _locked_with_client(settings: Settings, fn, *args, **kwargs):
    from annotation.client import LabelStudioAPIError

    try:
        with WRITE_LOCK, client_for(settings) as client:
            return fn(*args, client=client, **kwargs)
    except LabelStudioAPIError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None


@router.get("/status")
def review_status(conn: Conn, _caller: Reviewer,
                  examples: Annotated[bool, Query(description="agreement per example too")] = False) -> dict:
    from annotation.status import review_status as compute

    return compute(conn, examples=examples)


@router.post("/push")
async def push(body: PushRequest, conn: Conn, settings: SettingsDep, caller: Steward) -> dict:
    from annotation.push import push as push_tasks

    def run(client):
        return push_tasks(conn, client, actor(caller), limit=body.limit, overlap=body.overlap).summary()

    return await run_in_threadpool(_locked_with_client, settings, run)


@router.post("/pull")
async def pull(conn: Conn, settings: SettingsDep, caller: Steward) -> dict:
    from annotation.pull import pull as pull_reviews

    def run(client):
        return pull_reviews(conn, client, actor(caller), settings.review_min_edit_similarity).summary()

    return await run_in_threadpool(_locked_with_client, settings, run)


async def periodic_pull(app: FastAPI, settings: Settings) -> None:
    """Reconcile every ``review_pull_interval`` seconds, so a missed webhook is recovered even
    when nobody runs a pull; failures are logged and retried next round."""
    from annotation.pull import pull as pull_reviews
    from annotation.setup import project_ids

    while True:
        await asyncio.sleep(settings.review_pull_interval)
        cursor = app.state.conn.cursor()
        try:
            project_ids(cursor)
        except CuratorError:  # no review project yet: nothing to reconcile
            cursor.close()
            continue
        try:
            report = await run_in_threadpool(_locked_with_client, settings, lambda client: pull_reviews(
                cursor, client, "service:periodic-pull", settings.review_min_edit_similarity))
            if report.recorded or report.deleted:
                log.info("periodic pull recorded %d, deleted %d", report.recorded, report.deleted)
        except HTTPException as exc:  # Label Studio unreachable or refusing: say so, retry next round
            log.warning("periodic review pull: %s; retrying in %.0f s", exc.detail, settings.review_pull_interval)
        except Exception:  # a background loop: log it with its traceback and try again next round
            log.exception("periodic review pull failed; retrying in %.0f s", settings.review_pull_interval)
        finally:
            cursor.close()
