"""The store: migrations applied once each, atomically, and a clear line when the file is locked."""

from __future__ import annotations

import duckdb
import pytest

from curator import sqlfiles
from curator.errors import MigrationError
from curator.store import connect, migrate


def test_init_creates_then_is_a_noop(curator_json, db_path):
    first = curator_json("init")
    assert first["applied"] == [f"{v:03d}_{n}" for v, n, _ in sqlfiles.migrations()]
    again = curator_json("init")
    assert again["applied"] == []
    with duckdb.connect(str(db_path), read_only=True) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    assert [v for (v,) in versions] == [v for v, _, _ in sqlfiles.migrations()]


def test_failed_migration_leaves_store_at_previous_version(db_path, monkeypatch):
    conn = connect(db_path)
    migrate(conn)
    good = sqlfiles.migrations()
    top = good[-1][0]
    broken = "CREATE TABLE half_done (id INTEGER); SELECT * FROM no_such_table;"
    monkeypatch.setattr("curator.store.migrations", lambda: good + [(top + 1, "broken", broken)])
    with pytest.raises(MigrationError, match=f"{top + 1:03d}_broken"):
        migrate(conn)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == top
    tables = {t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "half_done" not in tables


def test_named_queries_are_unique_and_parse():
    queries = sqlfiles.named_queries()
    assert "ingest.insert_documents" in queries and "stats.totals" in queries
    assert all(q.strip() for q in queries.values())


def test_locked_store_gives_one_clear_line(curator, db_path):
    curator("init")
    holder = duckdb.connect(str(db_path))  # this pytest process now holds the write lock
    try:
        proc = curator("stats", check=False)
    finally:
        holder.close()
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "is locked by" in lines[0] and "DuckDB allows one writing process" in lines[0]
    assert "Traceback" not in proc.stderr
