"""Upload files and ingest them with the same operation as `curator ingest`.

The body is streamed to disk by ``uploads.receive`` (limits and filename checks there), then the
``ingest`` operation runs as a job over the batch directory. Form fields: ``files`` (one or
more; a name may carry directories, ``dir/file.jsonl``, as the CLI sends a directory), and
either ``params`` (the operation's parameters as JSON, ``paths`` naming the uploaded top-level
entries) or the short ``source`` and ``format`` fields.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ...ingest import FORMATS
from ...keys import Principal
from ...ops import get
from ..deps import SettingsDep, require
from ..uploads import UploadError, receive
from .operations import run_operation

router = APIRouter(tags=["ingest"])
OP = get("ingest")

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
    if response.status_code == 200:
        result = orjson.loads(response.body)
        landed = result["documents_added"] + result["examples_added"] + result["duplicates_skipped"]
        if not landed and result["rejected"] and not result["files_skipped"]:
            # Nothing usable arrived: say why with a 4xx instead of a 200 the client may not read,
            # and keep none of it on disk.
            upload.discard()
            return JSONResponse({"detail": result}, status_code=422)
    elif response.status_code != 202:
        upload.discard()  # the job failed: nothing of this upload was kept
    return response
