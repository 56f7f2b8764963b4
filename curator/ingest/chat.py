"""Validation of OpenAI chat examples, following the checks of the OpenAI cookbook's
"Data preparation and analysis for chat model fine-tuning": what breaks training is a hard
reject, what is merely odd is a warning kept with the example."""

from __future__ import annotations

from typing import Any

from ..normalize import normalize_text
from .records import RecordError

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
KNOWN_KEYS = {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}


def _content_text(content: Any, index: int) -> str:
    """Message content as text; ``None`` reads as empty so the caller's empty check names it."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):  # content parts: only text parts are supported
        return "\n".join(_part_text(part, index, j) for j, part in enumerate(content))
    raise RecordError("wrong_type", f"message {index}: content must be a string or a list of text parts, "
                                    f"got {type(content).__name__}")


def _part_text(part: Any, index: int, j: int) -> str:
    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
        return part["text"]
    kind = part.get("type") if isinstance(part, dict) else type(part).__name__
    raise RecordError("wrong_type", f"message {index}, content part {j}: type {kind!r} is not supported; "
                                    "only text parts are")


def _copy_extra_keys(message: dict, out: dict, index: int, warnings: list[str]) -> None:
    """Known keys besides role and content are kept, others dropped with a warning, in message order."""
    for key, value in message.items():
        if key in ("role", "content"):
            continue
        if key in KNOWN_KEYS:
            out[key] = value
        else:
            warnings.append(f"message {index}: unknown key {key!r} dropped")


def validate_messages(messages: Any) -> tuple[list[dict], list[str]]:
    """Return (normalised messages, warnings) or raise ``RecordError`` with the first hard fault."""
    if not isinstance(messages, list) or not messages:
        got = "an empty list" if isinstance(messages, list) else type(messages).__name__
        raise RecordError("missing_messages", f"'messages' must be a non-empty list of messages, got {got}")
    clean: list[dict] = []
    warnings: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RecordError("wrong_type", f"message {i}: expected an object, got {type(message).__name__}")
        if "role" not in message or "content" not in message:
            key = "role" if "role" not in message else "content"
            raise RecordError("missing_key", f"message {i}: missing key {key!r}")
        role = message["role"]
        if role not in ROLES:
            raise RecordError("unknown_role", f"message {i}: unknown role {role!r} (expected one of {sorted(ROLES)})")
        has_call = bool(message.get("tool_calls") or message.get("function_call"))
        text = normalize_text(_content_text(message["content"], i))
        if not text and not has_call:
            raise RecordError("empty_content", f"message {i} ({role}): content is empty")
        out = {"role": role, "content": text}
        if len(message) > 2:  # most messages hold only role and content
            _copy_extra_keys(message, out, i, warnings)
        clean.append(out)
    roles = [m["role"] for m in clean]
    if "assistant" not in roles:
        raise RecordError("no_assistant_message", "no assistant message: nothing to learn from this example")
    if "system" in roles[1:]:
        warnings.append("system message not first")
    if any(a == b and a in ("user", "assistant") for a, b in zip(roles, roles[1:])):
        warnings.append("two consecutive messages with the same role")
    talk = [r for r in roles if r not in ("system", "developer")]
    if talk and talk[0] == "assistant":
        warnings.append("conversation starts with the assistant")
    if roles[-1] != "assistant":
        warnings.append("last message is not from the assistant")
    return clean, warnings
