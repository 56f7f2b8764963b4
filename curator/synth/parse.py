"""Turning a model's text into a validated object, tolerantly: strict JSON first, then the first
JSON object embedded in prose or a code fence; then pydantic validation into the caller's model."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

_DECODER = json.JSONDecoder()


def first_json_object(text: str) -> dict | None:
    """The whole text as a JSON object, else the first ``{...}`` inside it that parses."""
    try:
        value = json.loads(text)
        if isinstance(value, dict):
            return value
    except ValueError:
        pass
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
        start = text.find("{", start + 1)
    return None


def parse(text: str | None, schema: type[BaseModel] | None) -> tuple[Any, str | None, str | None]:
    """(value, failure code, reason); value is the validated model, or the dict when no schema."""
    if not text:
        return None, "empty_response", "the model returned no content"
    obj = first_json_object(text)
    if obj is None:
        return None, "invalid_json", f"no JSON object in the response: {text[:120]!r}"
    if schema is None:
        return obj, None, None
    try:
        return schema.model_validate(obj), None, None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        return None, "schema_mismatch", f"{exc.error_count()} error(s), first at {where}: {first['msg']}"
