"""Upload files and ingest them with the same rules as `curator ingest`.

The body is streamed to disk by ``uploads.receive`` (limits and filename checks there), then
``ingest_paths`` runs in a worker thread under its WRITE_LOCK, so ingests queue instead of
failing with a DuckDB write conflict while other requests keep being served.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...ingest import FORMATS, IngestOptions, ingest_paths
from ..deps import Conn, SettingsDep, Steward, actor
from ..schemas import IngestResult
from ..uploads import receive

router = APIRouter(tags=["ingest"])

_BODY = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "one or more files (txt md vtt srt jsonl json csv tsv docx pdf)"},
        "source": {"type": "string", "default": "upload", "description": "source name for every file"},
        "format": {"type": "string", "enum": list(FORMATS), "default": "auto"},
    }}}}


@router.post("/ingest", response_model=IngestResult,
             openapi_extra={"requestBody": {"required": True, "content": _BODY}},
             responses={400: {"description": "unsafe filename or malformed upload"},
                        413: {"description": "a file is over CURATOR_MAX_UPLOAD_BYTES"},
                        422: {"description": "unknown format, or nothing landed and every file was rejected"}})
async def ingest(request: Request, conn: Conn, settings: SettingsDep, caller: Steward):
    upload = await receive(request, settings.uploads_dir.resolve(), settings.max_upload_bytes,
                           field_names=("source", "format"))
    fmt = upload.fields.get("format") or "auto"
    source = upload.fields.get("source") or "upload"
    try:
        opts = IngestOptions(format="auto" if fmt == "csv" else fmt, speaker_roles=settings.speaker_roles,
                             max_record_bytes=settings.max_record_bytes)
    except ValueError as exc:
        upload.discard()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    report = await run_in_threadpool(
        ingest_paths, conn, upload.files, opts=opts, actor=actor(caller), source=source,
        workers=settings.workers, parallel_min_bytes=settings.parallel_min_bytes, chunk_bytes=settings.chunk_bytes)
    result = report.summary(upload.relative)
    landed = report.documents_added + report.examples_added + report.duplicates_skipped
    if not landed and report.rejected:
        # Nothing usable arrived: say why with a 4xx instead of a 200 the client may not read.
        return JSONResponse({"detail": result}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return result
