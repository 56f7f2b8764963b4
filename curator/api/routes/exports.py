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
MAX_PATH = 1024  # export files have short relative paths; PATH_MAX is 4096


@router.get("/{ref}/{fmt}/{path:path}")
def download(ref: str, fmt: Format, path: str, settings: SettingsDep, _caller: Steward) -> FileResponse:
    """A file of an export made earlier (``manifest.json``, ``train.jsonl``, ``train/….arrow``)."""
    version = str(parse_ref(ref))
    missing = HTTPException(status.HTTP_404_NOT_FOUND, f"no file {path[:200]!r} in the {fmt} export of {ref}; "
                                                       "POST /exports first")
    if "\0" in path or len(path) > MAX_PATH:  # the OS refuses both with an error, not a missing file
        raise missing
    try:
        root = (settings.state_dir / "exports" / version / fmt).resolve()
        target = (root / path).resolve()
        found = root in target.parents and target.is_file()
    except (OSError, ValueError):  # ENAMETOOLONG for one long component, and the like
        found = False
    if not found:
        raise missing
    return FileResponse(target)
