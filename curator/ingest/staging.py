"""Parsed records as Arrow tables, built where they were parsed.

Parser processes hand back columnar tables (pickled as Arrow buffers) instead of lists of
Python objects, so the committing process neither unpickles nor converts row by row: it
concatenates a file's chunks and lets DuckDB insert them set-wise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from .records import ParsedFile, Reject

DOCUMENTS = pa.schema([
    ("origin", pa.string()), ("kind", pa.string()), ("title", pa.string()), ("text", pa.string()),
    ("text_hash", pa.string()), ("n_chars", pa.int32()), ("n_words", pa.int32()), ("turns", pa.string()),
    ("metadata", pa.string()),
])
EXAMPLES = pa.schema([
    ("origin", pa.string()), ("source_format", pa.string()), ("messages", pa.string()),
    ("content_hash", pa.string()), ("warnings", pa.string()), ("metadata", pa.string()),
])


@dataclass
class StagedFile:
    """One file's (or chunk's) rows in file order; ``pos`` is added when the file is complete."""

    path: str
    format: str
    documents: pa.Table = field(default_factory=DOCUMENTS.empty_table)
    examples: pa.Table = field(default_factory=EXAMPLES.empty_table)
    rejects: list[Reject] = field(default_factory=list)

    @classmethod
    def from_parsed(cls, parsed: ParsedFile) -> "StagedFile":
        docs, exs = parsed.documents, parsed.examples
        documents = pa.Table.from_arrays([
            pa.array([d.origin for d in docs], pa.string()), pa.array([d.kind for d in docs], pa.string()),
            pa.array([d.title for d in docs], pa.string()), pa.array([d.text for d in docs], pa.string()),
            pa.array([d.text_hash for d in docs], pa.string()),
            pa.array([len(d.text) for d in docs], pa.int32()), pa.array([d.n_words for d in docs], pa.int32()),
            pa.array([d.turns for d in docs], pa.string()), pa.array([d.metadata for d in docs], pa.string()),
        ], schema=DOCUMENTS)
        examples = pa.Table.from_arrays([
            pa.array([e.origin for e in exs], pa.string()), pa.array([e.source_format for e in exs], pa.string()),
            pa.array([e.messages for e in exs], pa.string()), pa.array([e.content_hash for e in exs], pa.string()),
            pa.array([e.warnings for e in exs], pa.string()), pa.array([e.metadata for e in exs], pa.string()),
        ], schema=EXAMPLES)
        return cls(parsed.path, parsed.format, documents, examples, list(parsed.rejects))

    def extend(self, other: "StagedFile") -> None:
        self.format = other.format
        self.documents = pa.concat_tables([self.documents, other.documents])
        self.examples = pa.concat_tables([self.examples, other.examples])
        self.rejects.extend(other.rejects)

    def is_empty(self) -> bool:
        return not (self.documents.num_rows or self.examples.num_rows or self.rejects)


def with_position(table: pa.Table) -> pa.Table:
    """Add ``pos`` (file order), which decides the first of in-file duplicates and insert order."""
    return table.append_column("pos", pa.array(range(table.num_rows), pa.int64()))
