"""Commit one parsed file: its file row, documents, examples, duplicate decisions and rejects
in one transaction, so a kill at any moment leaves either the whole file or none of it."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..sqlfiles import query
from ..store import transaction
from .records import Reject
from .staging import StagedFile, with_position


@dataclass(slots=True)
class FileResult:
    file_id: int
    documents: int
    examples: int
    duplicates: int
    rejects: int


def _rejects_table(rejects: list[Reject]) -> pa.Table:
    return pa.table({
        "pos": pa.array(range(len(rejects)), pa.int64()),
        "origin": pa.array([r.origin for r in rejects], pa.string()),
        "code": pa.array([r.code for r in rejects], pa.string()),
        "reason": pa.array([r.reason for r in rejects], pa.string()),
    })


def _count(conn: duckdb.DuckDBPyConnection, name: str, params: dict) -> int:
    row = conn.execute(query(name), params).fetchone()
    return int(row[0]) if row else 0


def commit_file(conn: duckdb.DuckDBPyConnection, staged: StagedFile, *, source_id: int, batch_id: int,
                sha256: str, n_bytes: int, copies: list[str] = ()) -> FileResult:
    """``copies``: paths of byte-identical files of the same batch, recorded against this one."""
    ids = {"source": source_id, "batch": batch_id}
    with transaction(conn):
        file_id = conn.execute(query("ingest.insert_file"), {
            **ids, "path": staged.path, "sha256": sha256, "n_bytes": n_bytes, "format": staged.format,
        }).fetchone()[0]
        ids["file"] = file_id
        if copies:
            conn.execute(query("ingest.insert_file_copies"), {"batch": batch_id, "file": file_id, "sha256": sha256,
                                                               "n_bytes": n_bytes, "paths": list(copies)})
        added_docs = added_examples = duplicates = 0
        if staged.documents.num_rows:
            conn.register("staged_documents", with_position(staged.documents))
            added_docs = _count(conn, "ingest.insert_documents", ids)
            duplicates += _count(conn, "ingest.insert_document_duplicates", {"batch": batch_id, "file": file_id})
            conn.unregister("staged_documents")
        if staged.examples.num_rows:
            conn.register("staged_examples", with_position(staged.examples))
            added_examples = _count(conn, "ingest.insert_examples", ids)
            duplicates += _count(conn, "ingest.insert_example_duplicates", {"batch": batch_id, "file": file_id})
            conn.unregister("staged_examples")
        if staged.rejects:
            conn.register("staged_rejects", _rejects_table(staged.rejects))
            conn.execute(query("ingest.insert_rejects"), ids)
            conn.unregister("staged_rejects")
        result = FileResult(file_id, added_docs, added_examples, duplicates, len(staged.rejects))
        conn.execute(query("ingest.finish_file"), {
            "file": file_id, "documents": result.documents, "examples": result.examples,
            "duplicates": result.duplicates, "rejects": result.rejects,
        })
    return result
