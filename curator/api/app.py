"""The FastAPI application. The process holds one DuckDB connection for its lifetime (DuckDB
allows one writing process, and the service is it); each request works on its own cursor."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI

from ..config import Settings, get_settings
from ..store import open_store
from . import errors
from .routes import (audit, dedup, examples, exports, health, ingest, keys, page, review, sources, sql, stats,
                     training, versions, webhooks)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.conn = open_store(settings.db)
        pulls = asyncio.create_task(review.periodic_pull(app, settings)) if settings.review_pull_interval else None
        try:
            yield
        finally:
            if pulls:
                pulls.cancel()
            app.state.conn.close()

    app = FastAPI(title="curator", version="0", lifespan=lifespan,
                  description="Curate reviewed, versioned fine-tuning datasets. Every route but /health "
                              "needs `Authorization: Bearer <key>`; roles rank reviewer < steward < admin.")
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.session_secret = (settings.session_secret.get_secret_value().encode() if settings.session_secret
                                else secrets.token_bytes(32))
    errors.install(app)
    for module in (health, sources, ingest, examples, dedup, stats, keys, audit, review, webhooks, versions, exports,
                   training, sql, page):
        app.include_router(module.router)
    return app
