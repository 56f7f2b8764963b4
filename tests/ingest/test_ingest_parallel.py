"""Parsing in worker processes (forked from the forkserver) stores exactly what parsing in the
committing process stores: the same rows, duplicates and rejects, in the same order."""

from __future__ import annotations

import json
from pathlib import Path

from curator.ingest import IngestOptions, ingest_paths
from curator.store import open_store

ROWS = {
    "documents": "SELECT origin, kind, title, text, text_hash, n_words, turns::VARCHAR, metadata::VARCHAR "
                 "FROM documents ORDER BY id",
    "examples": "SELECT origin, source_format, messages::VARCHAR, content_hash, warnings::VARCHAR, "
                "metadata::VARCHAR FROM examples ORDER BY id",
    "duplicates": "SELECT target, origin FROM ingest_duplicates ORDER BY id",
    "rejects": "SELECT origin, code, reason FROM rejects ORDER BY id",
}


def _corpus(root: Path) -> None:
    root.mkdir()
    for f in range(3):
        lines = []
        for i in range(400):
            n = (i * 7 + f) % 500  # repeats within and across files
            if i % 97 == 3:
                lines.append('{"messages": [')
            elif i % 3 == 0:
                lines.append(json.dumps({"text": f"Doctor: how are you {n}?\nPatient: “fine”, merci {n}\n"
                                                 f"Doctor: good.", "title": f"visit {n}"}))
            else:
                lines.append(json.dumps({"messages": [{"role": "user", "content": f"café nº {n}?"},
                                                      {"role": "assistant", "content": f"The cafÃ© {n}."}]}))
        (root / f"part-{f}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _ingest(db: Path, corpus: Path, workers: int) -> dict:
    conn = open_store(db)
    opts = IngestOptions(speaker_roles={"doctor": "assistant", "patient": "user"})
    ingest_paths(conn, [corpus], opts=opts, actor="test", workers=workers, parallel_min_bytes=0, chunk_bytes=4096)
    rows = {name: conn.execute(sql).fetchall() for name, sql in ROWS.items()}
    conn.close()
    return rows


def test_worker_processes_store_what_one_process_stores(tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    alone = _ingest(tmp_path / "one.duckdb", corpus, workers=1)
    assert all(alone.values()), {k: len(v) for k, v in alone.items()}
    assert _ingest(tmp_path / "two.duckdb", corpus, workers=2) == alone
