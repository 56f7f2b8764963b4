"""Request bodies read as strict JSON, and error bodies that always serialise.

Python's ``json`` (what ``Request.json`` uses) accepts ``NaN``, ``Infinity`` and ``1e400`` (as inf),
lone surrogates such as ``"\\ud800"`` and nesting to its recursion limit; each of those once
reached a route or the validation error's own serialisation and came back as a bare 500. orjson
refuses the first three as RFC 8259 does; nesting is capped here, far above any real parameters.
A JSON body must also say it is JSON: a ``text/plain`` body is what a cross-site ``fetch`` in
``no-cors`` mode can send, so accepting it would let another origin post JSON with whatever
credentials the browser attaches by itself.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError

MAX_DEPTH = 64


def is_json(content_type: str | None) -> bool:
    """``application/json`` or any ``application/*+json``, parameters (charset) aside."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether containers nest deeper than ``limit`` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def invalid(msg: str, kind: str = "json_invalid") -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body",), "msg": msg, "input": None}])


def loads(raw: bytes, content_type: str | None, require_type: bool = True) -> Any:
    """The body's JSON value; 415 for another media type, 422 naming the problem for a body that
    is not strict JSON or nests deeper than ``MAX_DEPTH``."""
    if require_type and not is_json(content_type):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"send the body as Content-Type: application/json (got {(content_type or 'none')[:80]!r})")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON ({exc}); NaN, Infinity, numbers beyond a double and "
                      "lone surrogates are refused") from None
    if too_deep(value):
        raise invalid(f"the body nests deeper than {MAX_DEPTH} levels")
    return value


def safe(value: Any, depth: int = 0) -> Any:
    """``value`` as something JSON can always encode: non-finite floats as strings, strings with
    lone surrogates escaped, nesting cut at ``MAX_DEPTH`` (error bodies echo the caller's input)."""
    if depth > MAX_DEPTH:
        return "..."
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {str(safe(k, depth + 1)): safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [safe(v, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return safe(str(value), depth + 1)
