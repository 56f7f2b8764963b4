"""Options of one ingest run, picklable so parser processes get the same view."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError

FORMATS = ("auto", "text", "transcript", "chat", "alpaca", "prompt_completion", "csv")

# Field names tried, in order, when no explicit mapping is given. General names, no
# dataset-specific paths: they happen to fit OpenAI chat, Alpaca, prompt/completion, and
# dialogue/note or text tables.
AUTO_FIELDS: dict[str, tuple[str, ...]] = {
    "messages": ("messages",),
    "instruction": ("instruction", "query"),
    "input": ("input",),
    "response": ("output", "response", "answer"),
    "prompt": ("prompt",),
    "completion": ("completion",),
    "dialogue": ("dialogue", "dialog", "conversation", "transcript"),
    "text": ("text", "content", "body", "document"),
    "title": ("title", "file_name", "filename"),
    "system": ("system", "system_prompt"),
}


@dataclass(frozen=True)
class IngestOptions:
    format: str = "auto"
    fields: dict[str, str] = field(default_factory=dict)  # role -> column/key, overrides AUTO_FIELDS
    speaker_roles: dict[str, str] = field(default_factory=dict)
    max_record_bytes: int = 2 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InputError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        unknown = set(self.fields) - set(AUTO_FIELDS)
        if unknown:
            raise InputError(f"unknown field role(s) {sorted(unknown)}; known: {', '.join(AUTO_FIELDS)}")
