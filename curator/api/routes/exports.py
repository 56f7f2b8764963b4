"""Exports over HTTP: a steward writes a version in a trainer's format under the service's
state directory (``exports/NAME@N/FORMAT``); its files and manifest are then downloadable."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from ...audit import record_audit
from ...store import WRITE_LOCK, transaction
from ...versions import export_version, parse_ref
from ..deps import Conn, SettingsDep, Steward, actor

router = APIRouter(prefix="/exports", tags=["exports"])
Format = Literal["openai", "alpaca", "parquet", "hf"]


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    format: Format = "openai"


def _export(conn, settings, ref: str, fmt: str, who: str) -> dict:
    with WRITE_LOCK:
        manifest = export_version(conn, ref, fmt, settings.state_dir / "exports" / str(parse_ref(ref)) / fmt)
        with transaction(conn):
            record_audit(conn, who, "version.export", manifest["ref"],
                         {"format": fmt, "content_hash": manifest["content_hash"], "files": manifest["files"]})
    return manifest


@router.post("", status_code=201)
async def create(body: ExportRequest, conn: Conn, settings: SettingsDep, caller: Steward) -> dict:
    return await run_in_threadpool(_export, conn, settings, body.version, body.format, actor(caller))


@router.get("/{ref}/{fmt}/{path:path}")
def download(ref: str, fmt: Format, path: str, settings: SettingsDep, _caller: Steward) -> FileResponse:
    """A file of an export made earlier (``manifest.json``, ``train.jsonl``, ``train/….arrow``)."""
    root = (settings.state_dir / "exports" / str(parse_ref(ref)) / fmt).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no file {path!r} in the {fmt} export of {ref}; "
                                                       "POST /exports first")
    return FileResponse(target)
