"""What a killed process left behind, put right when the service starts (before the runner runs,
so nothing of this start can be mistaken for a leftover).

- An ingest batch whose process died has no ``finished_at`` and would read as running forever:
  it is closed and marked failed (its committed files stay: each file is its own transaction).
- An upload directory no stored file points at is a partial or refused upload (``kill -9``
  mid-upload, a crash before the job ran): it is deleted, so uploads cannot fill the disk.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import duckdb

from ..sqlfiles import query

log = logging.getLogger("curator.recovery")


def close_interrupted_batches(conn: duckdb.DuckDBPyConnection) -> list[int]:
    with conn.cursor() as cur:
        closed = [r[0] for r in cur.execute(query("ingest.open_batches")).fetchall()]
        if closed:
            cur.execute(query("ingest.close_interrupted"))
    if closed:
        log.warning("ingest batches %s were left open by a stopped process: marked failed", closed)
    return closed


def sweep_uploads(conn: duckdb.DuckDBPyConnection, uploads_dir: Path) -> list[str]:
    if not uploads_dir.is_dir():
        return []
    root = str(uploads_dir.resolve())
    with conn.cursor() as cur:
        kept = {r[0] for r in cur.execute(query("ingest.upload_dirs_in_use"), {"root": root + "/"}).fetchall()}
    swept = []
    for entry in sorted(uploads_dir.iterdir()):
        if entry.name not in kept:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            swept.append(entry.name)
    if swept:
        log.warning("removed %d upload directories no stored file points at: %s", len(swept), swept[:10])
    return swept
