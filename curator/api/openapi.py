"""The OpenAPI document as the API really answers: every error status a route can return is
listed with the one error body shape (``{"detail": ...}``), so a client (or schemathesis) can rely
on the document. Generated operations list their own errors (routes/operations.py); this adds
what every authenticated route shares, for the hand-written routes too."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from .deps import Reviewer

ERROR = {"type": "object", "required": ["detail"],
         "properties": {"detail": {"description": "what went wrong: a message, the validation errors, or "
                                                  "(a refused upload) the ingest report"}}}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
WHY = {
    400: "bad input that the parameters' schema cannot express (the message names it)",
    401: "missing, invalid or revoked API key (or webhook secret)",
    403: "the key's role is below the route's, or a cross-site request with the page's cookie",
    404: "no such row, version, job or file",
    408: "the query ran past the time limit",
    409: "the request conflicts with the store's state (immutable version, running job, leakage)",
    413: "the body (or an uploaded file) is over the service's size limit",
    415: "the body is not sent as application/json",
    422: "the parameters do not match their schema (the fields are named)",
    429: "too many event streams open, for this key or in all (the message says which); retry later",
    502: "Label Studio or the model endpoint failed",
    503: "the store is locked by another process",
}
PUBLIC = {"/health"}


def error(code: int) -> dict:
    return {"description": WHY[code], "content": {"application/json": {"schema": ERROR_REF}}}


def install(app: FastAPI, keyed: bool = False) -> None:
    """The document at ``/openapi.json``; with ``keyed`` (prod) it needs a key like every route but
    /health (the app is then made with ``openapi_url=None`` and this route serves it instead)."""
    if keyed:
        @app.get("/openapi.json", include_in_schema=False)
        def keyed_openapi(_caller: Reviewer) -> JSONResponse:
            return JSONResponse(app.openapi())

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
        for path, methods in schema["paths"].items():
            for method, spec in methods.items():
                responses = spec.setdefault("responses", {})
                codes = [] if path in PUBLIC else [400, 401, 403, 413, 422]
                if "application/json" in spec.get("requestBody", {}).get("content", {}):
                    codes.append(415)
                if "{" in path:
                    codes.append(404)
                for code in codes:
                    responses.setdefault(str(code), error(code))
                for code, body in responses.items():  # FastAPI's own 422 shape is one kind of detail
                    if code != "422" and code.startswith(("4", "5")) and "content" not in body:
                        body["content"] = {"application/json": {"schema": ERROR_REF}}
                if "422" in responses:
                    responses["422"] = error(422)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
