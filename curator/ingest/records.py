"""What a reader hands to the writer: normalised documents, examples and rejects of one file.

Readers never touch the store; the writer commits one ``ParsedFile`` in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Document:
    origin: str
    kind: str  # document | transcript
    title: str | None
    text: str  # normalised
    text_hash: str
    n_words: int
    turns: str | None  # JSON [{speaker, role, text}] for transcripts
    metadata: str  # JSON object


@dataclass(slots=True)
class Example:
    origin: str
    source_format: str  # chat | alpaca | prompt_completion
    messages: str  # canonical JSON of the normalised messages
    content_hash: str
    warnings: str  # JSON list
    metadata: str  # JSON object


@dataclass(slots=True)
class Reject:
    origin: str
    code: str
    reason: str


class RecordError(Exception):
    """One record cannot be used; ``code`` groups reasons in stats, the message explains."""

    def __init__(self, code: str, reason: str, line: int | None = None):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.line = line


@dataclass(slots=True)
class ParsedFile:
    """Everything one file (or one chunk of it) produced, in file order."""

    path: str
    format: str
    documents: list[Document] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def extend(self, other: "ParsedFile") -> None:
        self.documents.extend(other.documents)
        self.examples.extend(other.examples)
        self.rejects.extend(other.rejects)
