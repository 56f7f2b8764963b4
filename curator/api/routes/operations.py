"""Every registered operation's HTTP face, generated from the registry: the route's method and
path, its role, its parameters model (path segments, then the query string for GET and DELETE
or the JSON body otherwise) and its result model all come from the operation.

Reads answer at once on a cursor of their own. Writing operations become jobs for the runner;
the route waits for the job and answers with its result, unless the client sends
``Prefer: respond-async`` (RFC 7240): then it answers 202 with the job at once, to be followed
at ``/jobs/{id}`` and ``/jobs/{id}/events`` (what the CLI does).
"""

from __future__ import annotations

import re
import typing
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from ...keys import Principal
from ...ops import Context, Operation, all_operations
from .. import jsonbody
from ..deps import actor, require

router = APIRouter()
# Written by hand over the same operation: multipart uploads (routes/ingest.py) and the streamed
# SQL answer (routes/sql.py).
CUSTOM_FACES = {"ingest", "sql"}


def _is_list(model: type[BaseModel], name: str) -> bool:
    annotation = model.model_fields[name].annotation
    return typing.get_origin(annotation) is list or any(typing.get_origin(a) is list
                                                        for a in typing.get_args(annotation))


async def read_params(request: Request, op: Operation) -> BaseModel:
    """The operation's parameters from the request, validated by its model (a 422 names the field)."""
    data: dict[str, Any] = dict(request.path_params)
    if op.method in ("GET", "DELETE"):
        for key in request.query_params:
            if key in op.params.model_fields:
                values = request.query_params.getlist(key)
                data[key] = values if _is_list(op.params, key) else values[-1]
            else:
                data[key] = request.query_params[key]  # refused by the model (extra="forbid")
    else:
        raw = await request.body()
        if raw.strip():
            body = jsonbody.loads(raw, request.headers.get("content-type"))
            if not isinstance(body, dict):
                raise RequestValidationError([{"type": "dict_type", "loc": ("body",),
                                               "msg": "the body must be a JSON object", "input": None}])
            data.update(body)
    for name in op.local_only_fields:
        if data.get(name) is not None:
            raise RequestValidationError([{"type": "extra_forbidden", "loc": ("body", name), "input": data[name],
                                           "msg": f"{name!r} names a place on the caller's machine; the service "
                                                  "keeps its own (download the result instead)"}])
    try:
        return op.params.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def respond_async(request: Request) -> bool:
    return any(p.strip() == "respond-async" for p in request.headers.get("prefer", "").split(","))


async def run_operation(request: Request, op: Operation, params: BaseModel, caller: Principal,
                        uploads: dict | None = None) -> JSONResponse:
    """Run ``op`` for ``caller``: at once for reads, as a job for writes."""
    app = request.app
    settings = app.state.settings
    who = actor(caller, request)
    if op.kind != "job":
        with app.state.conn.cursor() as cursor:
            result = await run_in_threadpool(op.execute, Context(cursor, settings, who, role=caller.role), params)
        if op.kind == "direct":
            app.state.runner.touch()
        return JSONResponse(result, status_code=op.status_code)
    runner = app.state.runner
    job = await run_in_threadpool(runner.submit, op, params, who, uploads)
    if respond_async(request):
        return _job_response(job)
    done = await run_in_threadpool(runner.wait_done, job["id"])
    if done["status"] == "succeeded":
        return JSONResponse(done["result"], status_code=op.status_code, headers={"X-Curator-Job": str(job["id"])})
    error = done["error"] or {"status": 500, "detail": "the job ended without a result"}
    body = {k: v for k, v in error.items() if k not in ("status", "type")} | {"job": job["id"]}
    return JSONResponse(body, status_code=error.get("status", 500))


def _job_response(job: dict) -> JSONResponse:
    from fastapi.encoders import jsonable_encoder

    return JSONResponse(jsonable_encoder(job), status_code=202,
                        headers={"Location": f"/jobs/{job['id']}", "Preference-Applied": "respond-async"})


def _endpoint(op: Operation):
    async def endpoint(request: Request, caller: Principal = Depends(require(op.role))) -> JSONResponse:
        return await run_operation(request, op, await read_params(request, op), caller)

    endpoint.__name__ = op.name.replace(".", "_")
    endpoint.__doc__ = op.fn.__doc__
    return endpoint


def openapi_extra(op: Operation) -> dict:
    schema = op.params.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    path_fields = re.findall(r"{(\w+)}", op.path)
    props = schema.get("properties", {})
    extra: dict = {"parameters": [{"name": n, "in": "path", "required": True, "schema": props.get(n, {})}
                                  for n in path_fields]}
    if op.method in ("GET", "DELETE"):
        extra["parameters"] += [{"name": n, "in": "query", "required": n in schema.get("required", []),
                                 "schema": props[n], "description": props[n].get("description", "")}
                                for n in props if n not in path_fields]
    else:
        for n in path_fields:
            props.pop(n, None)
        schema["required"] = [n for n in schema.get("required", []) if n not in path_fields]
        extra["requestBody"] = {"required": bool(schema["required"]),
                                "content": {"application/json": {"schema": schema}}}
    return extra


def responses(op: Operation) -> dict:
    """The statuses ``op`` really answers with (api/openapi.py adds 400/401/403/413/422 to every route)."""
    from ..openapi import error

    found: dict = {op.status_code: {"model": op.result, "description": "the operation's result"}}
    if op.kind == "job":
        found[202] = {"description": "with `Prefer: respond-async`: the queued job"}
    codes = [400, 404, 409, 503]
    if op.name == "sql":
        codes.append(408)
    if op.name.startswith(("review.", "candidates.synthesize")):
        codes.append(502)
    return found | {code: error(code) for code in codes}


for _op in all_operations().values():
    if _op.name in CUSTOM_FACES:
        continue
    router.add_api_route(
        _op.path, _endpoint(_op), methods=[_op.method], status_code=_op.status_code, response_model=None,
        summary=_op.summary, tags=[_op.name.split(".")[0]], openapi_extra=openapi_extra(_op),
        responses=responses(_op))
