"""Upload files and ingest them with the same operation as `curator ingest`.

The body is streamed to disk by ``uploads.receive`` (limits and filename checks there), then the
``ingest`` operation runs as a job over the batch directory. Form fields: ``files`` (one or
more; a name may carry directories, ``dir/file.jsonl``, as the CLI sends a directory), and
either ``params`` (the operation's parameters as JSON, ``paths`` naming the uploaded top-level
entries) or the short ``source`` and ``format`` fields. When the job ends, only the uploaded files
the store points at stay on disk: a failed job's upload is deleted, and so is every file that
nothing was kept from (rejected whole, or already ingested), even when other files landed.
"""

from __future__ import annotations

import asyncio

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ...ingest import FORMATS
from ...keys import Principal
from ...jobs.runner import TERMINAL
from ...ops import get
from ...sqlfiles import query
from .. import jsonbody
from ..deps import SettingsDep, require
from ..uploads import Upload, UploadError, receive
from .operations import run_operation

router = APIRouter(tags=["ingest"])
OP = get("ingest")
TIDY_POLL_S = 0.5
_TIDYING: set[asyncio.Task] = set()  # tidy-ups under way (a task nobody references may be collected)

_BODY = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "one or more files (txt md vtt srt jsonl json csv tsv docx pdf)"},
        "params": {"type": "string", "description": "JSON of the ingest parameters (paths: uploaded top-level names)"},
        "source": {"type": "string", "default": "upload", "description": "source name for every file"},
        "format": {"type": "string", "enum": list(FORMATS), "default": "auto"},
    }}}}


def _params(upload, fields: dict[str, str]):
    tops = sorted({p.relative_to(upload.directory).parts[0] for p in upload.files})
    try:
        data = orjson.loads(fields["params"]) if "params" in fields else {
            "source": fields.get("source") or "upload", "format": fields.get("format") or "auto"}
    except orjson.JSONDecodeError:
        raise UploadError("the 'params' field is not valid JSON") from None
    if jsonbody.too_deep(data):
        raise UploadError(f"the 'params' field nests deeper than {jsonbody.MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise UploadError("the 'params' field must be a JSON object")
    data.setdefault("paths", tops)
    unknown = [p for p in data["paths"] if p not in tops] if isinstance(data["paths"], list) else []
    if unknown:
        raise UploadError(f"params.paths names {unknown}, which the upload does not hold (it holds {tops})")
    try:
        return OP.params.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


@router.post("/ingest", openapi_extra={"requestBody": {"required": True, "content": _BODY}},
             summary=OP.summary, response_model=OP.result,
             responses={400: {"description": "unsafe filename or malformed upload"},
                        413: {"description": "a file is over CURATOR_MAX_UPLOAD_BYTES"},
                        422: {"description": "bad parameters, or nothing landed and every file was rejected"}})
async def ingest(request: Request, settings: SettingsDep, caller: Principal = Depends(require(OP.role))):
    upload = await receive(request, settings.uploads_dir.resolve(), settings.max_upload_bytes,
                           field_names=("source", "format", "params"))
    try:
        params = _params(upload, upload.fields)
    except BaseException:
        upload.discard()
        raise
    response = await run_operation(request, OP, params, caller, uploads={"root": upload.directory})
    if response.status_code == 202:  # the job runs later: tidy the upload once it ends
        task = asyncio.create_task(_tidy_when_done(request.app, orjson.loads(response.body)["id"], upload))
        _TIDYING.add(task)
        task.add_done_callback(_TIDYING.discard)
        return response
    await run_in_threadpool(_tidy, request.app.state.conn, upload, response.status_code == 200)
    if response.status_code == 200:
        result = orjson.loads(response.body)
        landed = result["documents_added"] + result["examples_added"] + result["duplicates_skipped"]
        if not landed and result["rejected"] and not result["files_skipped"]:
            # Nothing usable arrived: say why with a 4xx instead of a 200 the client may not read
            # (and, as for every rejected file, none of it stays on disk).
            return JSONResponse({"detail": result}, status_code=422)
    return response


def _tidy(conn, upload: Upload, succeeded: bool) -> None:
    """After the job: a failed one keeps nothing; a finished one keeps only the files the store
    points at (something of them was kept), so rejected files go even when others landed."""
    if not succeeded:
        upload.discard()
        return
    with conn.cursor() as cursor:
        kept = {row[0] for row in cursor.execute(query("api.upload_files_kept"),
                                                 {"dir": f"{upload.directory.resolve()}/"}).fetchall()}
    upload.prune(kept)


async def _tidy_when_done(app, job_id: int, upload: Upload) -> None:
    """Follow an async ingest job (``Prefer: respond-async``, as the CLI sends) without holding a
    thread, then tidy its upload; a service stopped meanwhile leaves it to the start-up sweep."""
    while (job := await run_in_threadpool(app.state.runner.get, job_id))["status"] not in TERMINAL:
        await asyncio.sleep(TIDY_POLL_S)
    await run_in_threadpool(_tidy, app.state.conn, upload, job["status"] == "succeeded")
