"""Commit one parsed file: its file row, documents, examples, duplicate decisions and rejects
in one transaction, so a kill at any moment leaves either the whole file or none of it."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..sqlfiles import query
from ..store import transaction
from .records import ParsedFile


@dataclass(slots=True)
class FileResult:
    file_id: int
    documents: int
    examples: int
    duplicates: int
    rejects: int


def _first_flags(hashes: list[str]) -> list[bool]:
    seen: set[str] = set()
    flags = []
    for h in hashes:
        flags.append(h not in seen)
        seen.add(h)
    return flags


def _documents_table(parsed: ParsedFile) -> pa.Table:
    docs = parsed.documents
    hashes = [d.text_hash for d in docs]
    return pa.table({
        "pos": pa.array(range(len(docs)), pa.int64()),
        "origin": [d.origin for d in docs], "kind": [d.kind for d in docs],
        "title": pa.array([d.title for d in docs], pa.string()),
        "text": [d.text for d in docs], "text_hash": hashes,
        "n_chars": pa.array([len(d.text) for d in docs], pa.int32()),
        "n_words": pa.array([d.n_words for d in docs], pa.int32()),
        "turns": pa.array([d.turns for d in docs], pa.string()),
        "metadata": [d.metadata for d in docs], "first_in_file": _first_flags(hashes),
    })


def _examples_table(parsed: ParsedFile) -> pa.Table:
    exs = parsed.examples
    hashes = [e.content_hash for e in exs]
    return pa.table({
        "pos": pa.array(range(len(exs)), pa.int64()),
        "origin": [e.origin for e in exs], "source_format": [e.source_format for e in exs],
        "messages": [e.messages for e in exs], "content_hash": hashes,
        "warnings": [e.warnings for e in exs], "metadata": [e.metadata for e in exs],
        "first_in_file": _first_flags(hashes),
    })


def _rejects_table(parsed: ParsedFile) -> pa.Table:
    rej = parsed.rejects
    return pa.table({
        "pos": pa.array(range(len(rej)), pa.int64()),
        "origin": pa.array([r.origin for r in rej], pa.string()),
        "code": pa.array([r.code for r in rej], pa.string()),
        "reason": pa.array([r.reason for r in rej], pa.string()),
    })


def _count(conn: duckdb.DuckDBPyConnection, name: str, params: dict) -> int:
    row = conn.execute(query(name), params).fetchone()
    return int(row[0]) if row else 0


def commit_file(conn: duckdb.DuckDBPyConnection, parsed: ParsedFile, *, source_id: int, batch_id: int,
                sha256: str, n_bytes: int) -> FileResult:
    ids = {"source": source_id, "batch": batch_id}
    with transaction(conn):
        file_id = conn.execute(query("ingest.insert_file"), {
            **ids, "path": parsed.path, "sha256": sha256, "n_bytes": n_bytes, "format": parsed.format,
        }).fetchone()[0]
        ids["file"] = file_id
        added_docs = added_examples = duplicates = 0
        if parsed.documents:
            conn.register("staged_documents", _documents_table(parsed))
            added_docs = _count(conn, "ingest.insert_documents", ids)
            duplicates += _count(conn, "ingest.insert_document_duplicates", {"batch": batch_id, "file": file_id})
            conn.unregister("staged_documents")
        if parsed.examples:
            conn.register("staged_examples", _examples_table(parsed))
            added_examples = _count(conn, "ingest.insert_examples", ids)
            duplicates += _count(conn, "ingest.insert_example_duplicates", {"batch": batch_id, "file": file_id})
            conn.unregister("staged_examples")
        if parsed.rejects:
            conn.register("staged_rejects", _rejects_table(parsed))
            conn.execute(query("ingest.insert_rejects"), ids)
            conn.unregister("staged_rejects")
        result = FileResult(file_id, added_docs, added_examples, duplicates, len(parsed.rejects))
        conn.execute(query("ingest.finish_file"), {
            "file": file_id, "documents": result.documents, "examples": result.examples,
            "duplicates": result.duplicates, "rejects": result.rejects,
        })
    return result
