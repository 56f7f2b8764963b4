"""The FastAPI application: the one owner of the store while it runs.

The process holds one DuckDB connection for its lifetime (DuckDB allows one writing process).
Writing operations run as jobs on the runner's thread, one at a time; reads answer on cursors
of their own; webhook deliveries land in a durable inbox the runner applies. The service
announces itself beside the store (``service_file``) so the CLI sends its commands here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from .. import service_file
from ..config import Settings, get_settings
from ..jobs import recovery
from ..inbox import Inbox
from ..jobs.runner import Runner
from ..store import open_store
from . import csrf, errors, headers, openapi, sessions
from .limits import BodyLimit
from .read_cache import ReadCache
from .streams import StreamSlots
from .routes import (audit, dedup, examples, exports, health, ingest, jobs, keys, operations, page, sources, sql,
                     stats, webhooks)

log = logging.getLogger("curator.service")


def apply_deliveries(settings: Settings):
    """How the runner applies webhook deliveries: record them; if they made a dispute, send the
    example to adjudication (Label Studio is no longer waiting on us here)."""

    def apply(cursor, payloads: list[dict]) -> None:
        from annotation.pull import handle_webhooks
        from annotation.push import push_adjudication

        from ..errors import CuratorError
        from ..ops.review import label_studio

        result = handle_webhooks(cursor, payloads, settings.review_min_edit_similarity)
        if result.get("outcomes", {}).get("disputed"):
            try:  # the deliveries are committed: a failure here must not count against them
                with label_studio(settings) as client:
                    push_adjudication(cursor, client, "label-studio:webhook")
            except CuratorError as exc:  # Label Studio down or refusing (LabelStudioAPIError), not configured
                log.warning("adjudication task not sent (%s); the next pull sends it", exc)

    return apply


async def periodic_pull(app: FastAPI, settings: Settings) -> None:
    """Queue a reconciliation pull every ``review_pull_interval`` seconds (the second net under
    webhooks), unless one is already queued or no review project exists yet."""
    from annotation.setup import project_ids

    from ..errors import CuratorError
    from ..ops import get

    op = get("review.pull")
    while True:
        await asyncio.sleep(settings.review_pull_interval)
        runner = app.state.runner
        if runner.has_pending(op.name):
            continue
        with app.state.conn.cursor() as cursor:
            try:
                project_ids(cursor)
            except CuratorError:  # no review project yet: nothing to reconcile
                continue
        runner.submit(op, op.params(), "service:periodic-pull")


def bound_memory(conn, settings: Settings) -> None:
    """DuckDB's own limits for everything the service runs, a steward's SQL included: its buffer
    pool, hash tables, sorts and aggregates stay under ``duckdb_memory_limit`` (bigger work spills
    to the temp directory, itself capped). What DuckDB does not count (one scalar's result) is
    bounded in ``readonly_sql``. The values were checked by the settings, so they are quoted as is."""
    conn.execute(f"SET memory_limit = '{settings.duckdb_memory_limit}'")
    conn.execute(f"SET max_temp_directory_size = '{settings.duckdb_temp_limit}'")


class PathOnly(logging.Filter):
    """The access log names the path, never the query string: it can carry what a caller would not
    have written to a log (the text of a search, an example's filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):  # uvicorn's access line
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


PATH_ONLY = PathOnly()


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.conn = open_store(settings.db)
        bound_memory(app.state.conn, settings)
        logging.getLogger("uvicorn.access").addFilter(PATH_ONLY)
        recovery.close_interrupted_batches(app.state.conn)
        recovery.sweep_uploads(app.state.conn, settings.uploads_dir)
        app.state.runner = Runner(app.state.conn, settings, Inbox(settings.inbox_dir),
                                  apply_deliveries(settings))
        app.state.runner.start()
        app.state.read_cache = ReadCache()
        announced = service_file.write(settings.db, settings.host, app.state.port or settings.port)
        app.state.local_token = announced.token
        pulls = asyncio.create_task(periodic_pull(app, settings)) if settings.review_pull_interval else None
        try:
            yield
        finally:
            if pulls:
                pulls.cancel()
            service_file.remove(settings.db, announced)
            app.state.runner.stop()
            app.state.conn.close()

    prod = settings.environment == "prod"
    docs = {"docs_url": None, "redoc_url": None, "openapi_url": None} if prod else {}
    app = FastAPI(title="curator", version="0", lifespan=lifespan, **docs,
                  description="Curate reviewed, versioned fine-tuning datasets. Every route but /health "
                              "needs `Authorization: Bearer <key>`; roles rank reviewer < steward < admin. "
                              "Writing operations run as jobs: send `Prefer: respond-async` to get the job "
                              "at once and follow it at /jobs/{id}/events.")
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.settings = settings
    app.state.local_token = None
    app.state.revoked_sessions = sessions.Revoked()
    app.state.port = None
    app.state.streams = StreamSlots(settings.event_streams, settings.event_streams_per_key)
    app.state.session_secret = (settings.session_secret.get_secret_value().encode() if settings.session_secret
                                else secrets.token_bytes(32))
    errors.install(app)
    openapi.install(app, keyed=prod)
    # The last added runs first: the headers (and the Origin check, which reads no body) wrap
    # everything, the body cap's 413 included; then the cap, before any route or dependency reads
    # the body; then the CSRF token; a 405 lists every method of its resource.
    routes: list = []  # every route, flat (FastAPI may keep an included router as one entry)
    app.add_middleware(headers.AllowedMethods, routes=routes)
    app.add_middleware(csrf.CsrfCheck, secret=app.state.session_secret)
    app.add_middleware(BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_request_bytes)
    app.add_middleware(headers.SecurityHeaders)
    modules = (health, sources, ingest, sql, examples, dedup, stats, keys, audit, webhooks, exports, jobs,
               operations, page)
    for module in modules:
        app.include_router(module.router)
    routes.extend(r for r in app.router.routes if getattr(r, "methods", None))
    routes.extend(r for module in modules for r in module.router.routes)
    return app
