"""Read-only SQL for data stewards: one SELECT, checked before it runs, run in a read-only
transaction with a row cap and a time limit.

The service holds the store's one writable DuckDB connection, and DuckDB's safety switches
(``enable_external_access``, ``lock_configuration``) are database-wide: turning them off for a
steward's query would turn them off for ingest too. So the guard is built from what DuckDB offers
per statement: ``extract_statements`` must find exactly one SELECT; the parsed tree
(``json_serialize_sql``) may name only the store's own tables and views and a short list of
harmless table functions (no ``read_csv``, ``glob``, file paths as tables, ``query()``...); and the
statement runs inside ``BEGIN TRANSACTION READ ONLY``, so anything that would still write (such as
``nextval``) fails in DuckDB itself.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import duckdb
import orjson

from .errors import CuratorError

# Allow-lists, not deny-lists: a table added by a later migration stays unreadable through SQL
# until someone decides who may read it. Stewards read the data and its provenance; the audit
# trail (every caller's SQL text, key names and roles) and the jobs table (actors, parameters) are
# admin-only, as GET /audit is; credential hashes (api_keys) are nobody's.
STEWARD_TABLES = frozenset({
    "sources", "files", "file_copies", "documents", "examples", "rejects", "ingest_batches", "ingest_duplicates",
    "signatures", "dedup_runs", "dedup_pairs", "dedup_decisions", "dedup_overrides", "example_dedup",
    "llm_cache", "generation_runs", "generation_failures", "synthesis_documents",
    "review_projects", "review_tasks", "review_users", "reviews", "review_outcomes", "current_reviews",
    "dataset_versions", "dataset_items", "version_candidates", "version_stats", "item_lengths", "example_lengths",
    "stats_snapshots", "training_runs", "eval_examples", "eval_results", "schema_version",
})
TABLES_BY_ROLE = {"steward": STEWARD_TABLES, "admin": STEWARD_TABLES | {"audit_log", "jobs"}}
# Table functions a deployment may allow (CURATOR_SQL_TABLE_FUNCTIONS; none by default): pure
# generators that touch neither files nor the catalog (pragma_storage_info leaked column min/max).
HARMLESS_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
# Scalar functions that change state, read outside the store or reveal the server's settings
# (current_setting('temp_directory') is an absolute path; an unknown setting loaded an extension).
REFUSED_FUNCTIONS = frozenset({"nextval", "setval", "currval", "getenv", "read_text", "read_blob", "setseed",
                               "current_setting", "getvariable", "query", "query_table"})
# Rows are fetched in batches of about this many bytes of JSON (at most MAX_BATCH rows), starting
# with FIRST_BATCH rows before any size is known.
BATCH_BYTES = 1024 * 1024
FIRST_BATCH = 16
MAX_BATCH = 2048
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SqlRefused(CuratorError):
    """The query is not a plain read of the store; the message says which part and why."""


class SqlTimeout(CuratorError):
    """The query ran past the time limit and was interrupted."""


@dataclass
class SqlResult:
    columns: list[str]
    rows: list[list]
    truncated: bool
    seconds: float
    truncated_by: str | None = None

    def as_dict(self) -> dict:
        found = {"columns": self.columns, "rows": self.rows, "row_count": len(self.rows),
                 "truncated": self.truncated, "seconds": round(self.seconds, 4)}
        return found | ({"truncated_by": self.truncated_by} if self.truncated_by else {})


def _walk(node, ctes: frozenset[str] = frozenset()):
    """Every dict of the parsed tree with the CTE names in scope there: a CTE is visible only
    inside the query that defines it (elsewhere its name would reach a replacement scan)."""
    if isinstance(node, dict):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            ctes = ctes | {e["key"].lower() for e in cte_map.get("map", []) if isinstance(e, dict) and "key" in e}
        yield node, ctes
        for value in node.values():
            yield from _walk(value, ctes)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, ctes)


def _store_relations(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {name.lower() for (name,) in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()}


def _check_table(table: str, node: dict, readable: set[str], ctes: frozenset[str], role: str) -> None:
    if node.get("catalog_name") or node.get("schema_name") not in ("", "main", None):
        raise SqlRefused(f"read-only SQL reads only the store's main schema, not "
                         f"{node.get('catalog_name') or node.get('schema_name')}.{table}")
    name = table.lower()
    if name in ctes:
        return
    if not _PLAIN_NAME.match(table):
        raise SqlRefused(f"read-only SQL refuses {table!r}: not a table or view of the store "
                         "(file paths and URLs are not read)")
    if name not in readable:
        raise SqlRefused(f"read-only SQL refuses table {table}: not a table or view of the store the {role} role "
                         "may read (api_keys holds credential hashes; audit_log and jobs are admin-only)")


def check(conn: duckdb.DuckDBPyConnection, sql: str, role: str = "steward",
          table_functions: frozenset[str] = frozenset()) -> None:
    """Raise ``SqlRefused`` unless ``sql`` is one SELECT reading only the tables ``role`` may
    read, calling only the allowed ``table_functions``."""
    if not sql.strip():
        raise SqlRefused("empty query: send one SELECT statement")
    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlRefused(f"the query does not parse: {exc}") from None
    if len(statements) != 1:
        raise SqlRefused(f"send exactly one statement, got {len(statements)}")
    try:
        kind = statements[0].type
    except ValueError:  # a statement type the Python binding has no name for (UPDATE EXTENSIONS)
        raise SqlRefused("read-only SQL refuses this statement: only a single SELECT is allowed") from None
    if kind != duckdb.StatementType.SELECT:
        name = kind.name
        what = {"LOAD": "INSTALL/LOAD of extensions", "ATTACH": "ATTACH of other databases",
                "COPY": "COPY (file access)", "SET": "SET/RESET of settings", "PRAGMA": "PRAGMA",
                "EXPORT": "EXPORT DATABASE (file access)"}.get(name, f"{name} statements")
        raise SqlRefused(f"read-only SQL refuses {what}: only a single SELECT is allowed")
    serialized = orjson.loads(conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if serialized.get("error"):
        raise SqlRefused(f"read-only SQL accepts only plain SELECT queries: {serialized.get('error_message')}")
    readable = _store_relations(conn) & TABLES_BY_ROLE.get(role, frozenset())
    for node, ctes in _walk(serialized):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            fn = node["function"]
            name = (fn.get("function_name") or "").lower()
            if name not in table_functions or fn.get("schema") or fn.get("catalog"):
                allowed = ", ".join(sorted(table_functions)) or "none (CURATOR_SQL_TABLE_FUNCTIONS)"
                raise SqlRefused(f"read-only SQL refuses the table function {name}(): table functions can read "
                                 f"files, the catalog or run other statements; allowed: {allowed}")
        elif kind == "BASE_TABLE":
            _check_table(node.get("table_name", ""), node, readable, ctes, role)
        elif node.get("class") == "FUNCTION" and (node.get("function_name") or "").lower() in REFUSED_FUNCTIONS:
            raise SqlRefused(f"read-only SQL refuses {node['function_name']}(): it changes state, reads outside "
                             "the store or reveals the server's settings")
        elif kind == "SHOW_REF" and node.get("table_name"):
            raise SqlRefused("read-only SQL refuses DESCRIBE/SHOW: the columns are in the README's schema, "
                             "or SELECT * FROM the table LIMIT 0")


def _scrub(message: str, hide: tuple[str, ...]) -> str:
    """Error text without the server's absolute paths (each of ``hide`` reads as ``.``)."""
    for path in sorted(hide, key=len, reverse=True):
        if path:
            message = message.replace(path, ".")
    return message


class Answer:
    """An open read-only query whose rows come out encoded as JSON lists, a batch at a time, until
    ``max_rows`` rows or ``max_bytes`` bytes: nothing holds the whole answer, so memory stays
    bounded however wide the rows are and the service can stream it. Batches are sized to about
    ``BATCH_BYTES`` from the rows seen so far (a fixed 256 once meant 256 one-megabyte strings).
    ``stopped`` says why rows ended early (rows, bytes, time, error); ``close()`` ends the
    read-only transaction and may be called more than once."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, result, limits: tuple[int, int, float],
                 timer: threading.Timer, hide: tuple[str, ...]) -> None:
        self.conn, self.result, self.timer, self.hide = conn, result, timer, hide
        self.max_rows, self.max_bytes, self.timeout_s = limits
        self.columns = [d[0] for d in result.description]
        self.row_count = self.size = 0
        self.stopped: str | None = None
        self.error: str | None = None
        self.started = time.perf_counter()
        self._want = FIRST_BATCH
        self._lock = threading.Lock()
        self._open = True
        self._pending = self._next(first=True)

    @property
    def truncated(self) -> bool:
        return self.stopped is not None

    def _next(self, first: bool = False) -> list[bytes]:
        """The next batch of encoded rows ([] at the end or at a cap). Before any row has gone out
        a timeout or failure raises; afterwards it ends the rows and says so in ``stopped``."""
        with self._lock:
            return self._fetch(first) if self._open and not self.stopped else []

    def _fetch(self, first: bool) -> list[bytes]:
        try:
            fetched = self.result.fetchmany(min(self._want, self.max_rows + 1 - self.row_count))
        except duckdb.InterruptException:
            if first:
                raise SqlTimeout(f"the query ran past the {self.timeout_s:g} s limit and was stopped") from None
            self.stopped, self.error = "time", f"the query ran past the {self.timeout_s:g} s limit"
            return []
        except duckdb.Error as exc:
            message = _scrub(f"the query failed: {exc}", self.hide)
            if first:
                raise SqlRefused(message) from None
            self.stopped, self.error = "error", message
            return []
        out: list[bytes] = []
        for row in fetched:
            encoded = orjson.dumps(list(row), default=str)
            if self.row_count == self.max_rows or self.size + len(encoded) + 1 > self.max_bytes:
                self.stopped = "rows" if self.row_count == self.max_rows else "bytes"
                break
            self.size += len(encoded) + 1
            self.row_count += 1
            out.append(encoded)
        self._want = max(1, min(MAX_BATCH, BATCH_BYTES * self.row_count // max(self.size, 1)))
        return out

    def batches(self) -> Iterator[list[bytes]]:
        batch, self._pending = self._pending, []
        while batch:
            yield batch
            batch = self._next()

    def summary(self) -> dict:
        """What follows the rows: how many, whether and why they were cut, how long it took."""
        found = {"row_count": self.row_count, "truncated": self.truncated, "seconds":
                 round(time.perf_counter() - self.started, 4)}
        if self.stopped:
            found["truncated_by"] = self.stopped
        if self.error:
            found["error"] = self.error
        return found

    def close(self) -> bool:
        """End the transaction (after any fetch in flight: a client that left mid-stream); True
        for the call that ended it."""
        self.timer.cancel()
        with self._lock:
            if not self._open:
                return False
            self._open = False
            try:
                self.conn.execute("ROLLBACK")
            except duckdb.Error:  # interrupted or already ended: nothing of it is kept either way
                pass
        return True


def _interrupt(conn: duckdb.DuckDBPyConnection) -> None:
    try:
        conn.interrupt()
    except duckdb.Error:  # the answer ended (and its cursor closed) as the limit came
        pass


def open_query(conn: duckdb.DuckDBPyConnection, sql: str, max_rows: int, timeout_s: float, *,
               role: str = "steward", max_bytes: int = 16 * 1024 * 1024,
               table_functions: frozenset[str] = frozenset(), hide: tuple[str, ...] = ()) -> Answer:
    """Check ``sql``, then start it on ``conn`` (a cursor of its own) in a read-only transaction,
    with a timer that interrupts it after ``timeout_s`` seconds; the first batch is fetched here,
    so a refusal, failure or timeout before any row raises. The caller closes the answer."""
    try:
        check(conn, sql, role, table_functions)
    except SqlRefused as exc:
        raise SqlRefused(_scrub(str(exc), hide)) from None
    timer = threading.Timer(timeout_s, _interrupt, [conn])
    conn.execute("BEGIN TRANSACTION READ ONLY")
    timer.start()
    try:
        try:
            result = conn.execute(sql)
        except duckdb.InterruptException:
            raise SqlTimeout(f"the query ran past the {timeout_s:g} s limit and was stopped") from None
        except duckdb.Error as exc:
            raise SqlRefused(_scrub(f"the query failed: {exc}", hide)) from None
        return Answer(conn, result, (max_rows, max_bytes, timeout_s), timer, hide)
    except BaseException:
        timer.cancel()
        conn.execute("ROLLBACK")
        raise


def run(conn: duckdb.DuckDBPyConnection, sql: str, max_rows: int, timeout_s: float, *, role: str = "steward",
        max_bytes: int = 16 * 1024 * 1024, table_functions: frozenset[str] = frozenset(),
        hide: tuple[str, ...] = ()) -> SqlResult:
    """The whole answer at once (the CLI in-process): ``open_query``, every row collected; a
    timeout or failure after the first rows raises as it would have before them."""
    answer = open_query(conn, sql, max_rows, timeout_s, role=role, max_bytes=max_bytes,
                        table_functions=table_functions, hide=hide)
    try:
        rows = [orjson.loads(row) for batch in answer.batches() for row in batch]
    finally:
        answer.close()
    if answer.stopped == "time":
        raise SqlTimeout(f"the query ran past the {timeout_s:g} s limit and was stopped")
    if answer.stopped == "error":
        raise SqlRefused(answer.error or "the query failed")
    return SqlResult(answer.columns, rows, answer.truncated, answer.summary()["seconds"], answer.stopped)
