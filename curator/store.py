"""The DuckDB store: one file, opened by one writing process, migrated from ``sql/``.

Each migration runs in one transaction together with its ``schema_version`` row (as
sqlite-utils does), so a failed migration leaves the store at the previous version.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from .errors import MigrationError, StoreLockedError
from .sqlfiles import migrations, query

# DuckDB has one writer process. In the service the job runner already runs writing steps one
# at a time; ingest still takes this lock so a library caller with threads of its own is safe.
WRITE_LOCK = threading.Lock()
# Every connection the service or the CLI opens: SQL reaches no file, URL or extension download
# (a SELECT of an unknown setting once fetched httpfs), and a table name never falls through to a
# Python variable of the same name (replacement scans). Ingest and dedup hand Arrow tables over
# with ``register``, which these switches leave working.
LOCKED_DOWN = {"enable_external_access": False, "autoinstall_known_extensions": False,
               "autoload_known_extensions": False, "python_enable_replacements": False}
_LOCK = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def _describe_holder(pid: int, exe: str) -> tuple[str, str]:
    """Name the process holding the lock and what the user should do about it."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmdline = exe
    if "curator" in cmdline and " serve" in cmdline:
        return (f"the curator API service (PID {pid})",
                "send the request through the API instead, or stop the service first")
    if "curator" in cmdline or "pytest" in cmdline:
        return (f"another curator process (PID {pid}: {cmdline[:80]})",
                "wait for it to finish, or stop it")
    return (f"process {pid} ({cmdline[:80] or exe})", "close that program, then retry")


def owner_only(path: Path) -> None:
    """The store holds every transcript: its file, its WAL and DuckDB's temp files are for the
    owner alone. DuckDB creates them with the process umask (0644 under the usual 022) and the WAL
    again after each checkpoint, so the umask of a process that writes the store drops the group
    and other bits for good; files of older stores are narrowed here too."""
    os.umask(os.umask(0o077) | 0o077)
    for found in (path, Path(f"{path}.wal")):
        try:
            if found.stat().st_mode & 0o077:
                found.chmod(0o600)
        except OSError:  # not there yet, or not ours to change
            pass


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store, turning DuckDB's lock conflict into one clear ``StoreLockedError``."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreLockedError(f"{path} does not exist: run `curator init` first")
    if not read_only:
        owner_only(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Commits go to the write-ahead log either way; the default 16 MB threshold would also
        # rewrite the database file on nearly every per-file ingest commit (2.7x slower commits).
        config = dict(LOCKED_DOWN) | ({} if read_only else {"checkpoint_threshold": "1GB"})
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        match = _LOCK.search(str(exc))
        if not match:
            raise
        who, todo = _describe_holder(int(match["pid"]), match["exe"])
        raise StoreLockedError(
            f"{path} is locked by {who}; DuckDB allows one writing process: {todo}."
        ) from None


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK on any exception (then re-raised)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied; 0 for a store never migrated. Reads only, so it works on a
    read-only connection too (``curator doctor``)."""
    if not conn.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'schema_version'").fetchall():
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


def migrate(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration newer than the store; return the names applied (empty: no-op)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                 " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                 " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    have = current_version(conn)
    applied = []
    for version, name, sql in migrations():
        if version <= have:
            continue
        try:
            with transaction(conn):
                conn.execute(sql)
                conn.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
        except duckdb.Error as exc:
            raise MigrationError(f"migration {version:03d}_{name}.sql failed, store left at {have}: {exc}") from exc
        applied.append(f"{version:03d}_{name}")
        have = version
    return applied


def rows(conn: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> list[dict]:
    """Run a named query and return its rows as dicts (on a cursor of its own, so the
    connection's pending result is untouched)."""
    with conn.cursor() as cursor:
        cursor.execute(query(name), params or {})
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]


def arrow(conn: duckdb.DuckDBPyConnection, name: str, params: dict | None = None):
    """Run a named query and return a ``pyarrow.Table`` (columnar, no per-row Python objects)."""
    with conn.cursor() as cursor:
        return cursor.sql(query(name), params=params or {}).to_arrow_table()


def open_store(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Connect for writing and bring the schema up to date."""
    conn = connect(path)
    migrate(conn)
    return conn
