"""Export downloads: ``POST /exports`` (the ``export`` operation) writes a version in a trainer's
format under the service's state directory (``exports/NAME@N/FORMAT``); its files and manifest
are downloaded from here (the CLI checks each against the manifest's SHA-256)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

from ...versions import parse_ref
from ..deps import SettingsDep, Steward

router = APIRouter(prefix="/exports", tags=["exports"])
Format = Literal["openai", "alpaca", "parquet", "hf"]


@router.get("/{ref}/{fmt}/{path:path}")
def download(ref: str, fmt: Format, path: str, settings: SettingsDep, _caller: Steward) -> FileResponse:
    """A file of an export made earlier (``manifest.json``, ``train.jsonl``, ``train/….arrow``)."""
    root = (settings.state_dir / "exports" / str(parse_ref(ref)) / fmt).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no file {path!r} in the {fmt} export of {ref}; "
                                                       "POST /exports first")
    return FileResponse(target)
