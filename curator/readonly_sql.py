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

import duckdb
import orjson

from .errors import CuratorError

# Table functions a SELECT may call: generators and catalog views, none of them touch files.
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "json_each", "json_tree", "duckdb_tables", "duckdb_columns",
    "duckdb_views", "duckdb_constraints", "duckdb_indexes", "duckdb_types", "duckdb_functions",
    "pragma_table_info", "pragma_storage_info", "duckdb_keywords",
})
# Scalar functions that change state or reach outside the store.
REFUSED_FUNCTIONS = frozenset({"nextval", "setval", "currval", "getenv", "read_text", "read_blob", "setseed"})
# Tables a steward may not read through SQL: credential hashes.
REFUSED_TABLES = frozenset({"api_keys"})
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

    def as_dict(self) -> dict:
        return {"columns": self.columns, "rows": self.rows, "row_count": len(self.rows),
                "truncated": self.truncated, "seconds": round(self.seconds, 4)}


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _store_relations(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {name.lower() for (name,) in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()}


def _cte_names(tree: dict) -> set[str]:
    names = set()
    for node in _walk(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            names |= {entry["key"].lower() for entry in cte_map.get("map", []) if isinstance(entry, dict)}
    return names


def check(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise ``SqlRefused`` unless ``sql`` is one SELECT reading only the store."""
    if not sql.strip():
        raise SqlRefused("empty query: send one SELECT statement")
    try:
        statements = conn.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlRefused(f"the query does not parse: {exc}") from None
    if len(statements) != 1:
        raise SqlRefused(f"send exactly one statement, got {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        name = kind.name
        what = {"LOAD": "INSTALL/LOAD of extensions", "ATTACH": "ATTACH of other databases",
                "COPY": "COPY (file access)", "SET": "SET/RESET of settings", "PRAGMA": "PRAGMA",
                "EXPORT": "EXPORT DATABASE (file access)"}.get(name, f"{name} statements")
        raise SqlRefused(f"read-only SQL refuses {what}: only a single SELECT is allowed")
    serialized = orjson.loads(conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if serialized.get("error"):
        raise SqlRefused(f"read-only SQL accepts only plain SELECT queries: {serialized.get('error_message')}")
    relations = _store_relations(conn)
    ctes = _cte_names(serialized)
    for node in _walk(serialized):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            fn = node["function"]
            name = (fn.get("function_name") or "").lower()
            if name not in ALLOWED_TABLE_FUNCTIONS or fn.get("schema") or fn.get("catalog"):
                raise SqlRefused(f"read-only SQL refuses the table function {name}(): it can read files or run "
                                 f"other statements; allowed: {', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))}")
        elif kind == "BASE_TABLE":
            table = node.get("table_name", "")
            if node.get("catalog_name") or node.get("schema_name") not in ("", "main"):
                raise SqlRefused(f"read-only SQL reads only the store's main schema, not "
                                 f"{node.get('catalog_name') or node.get('schema_name')}.{table}")
            if table.lower() in REFUSED_TABLES:
                raise SqlRefused(f"read-only SQL refuses table {table}: it holds credential hashes")
            if not _PLAIN_NAME.match(table) or (table.lower() not in relations and table.lower() not in ctes):
                raise SqlRefused(f"read-only SQL refuses {table!r}: not a table or view of the store "
                                 "(file paths and URLs are not read)")
        elif node.get("class") == "FUNCTION" and (node.get("function_name") or "").lower() in REFUSED_FUNCTIONS:
            raise SqlRefused(f"read-only SQL refuses {node['function_name']}(): it changes state or reads outside "
                             "the store")
        elif (kind == "SHOW_REF" and node.get("table_name") and node["table_name"] != '"tables"'
              and not _PLAIN_NAME.match(node["table_name"])):
            raise SqlRefused(f"read-only SQL refuses {node['table_name']!r}: not a table of the store")


def run(conn: duckdb.DuckDBPyConnection, sql: str, max_rows: int, timeout_s: float) -> SqlResult:
    """Check ``sql``, then run it on ``conn`` (a cursor of its own) in a read-only transaction;
    at most ``max_rows`` rows come back, and a timer interrupts it after ``timeout_s`` seconds."""
    check(conn, sql)
    timer = threading.Timer(timeout_s, conn.interrupt)
    started = time.perf_counter()
    conn.execute("BEGIN TRANSACTION READ ONLY")
    try:
        timer.start()
        try:
            result = conn.execute(sql)
            columns = [d[0] for d in result.description]
            fetched = result.fetchmany(max_rows + 1)
        except duckdb.InterruptException:
            raise SqlTimeout(f"the query ran past the {timeout_s:g} s limit and was stopped") from None
        except duckdb.Error as exc:
            raise SqlRefused(f"the query failed: {exc}") from None
    finally:
        timer.cancel()
        conn.execute("ROLLBACK")
    rows = [list(r) for r in fetched[:max_rows]]
    return SqlResult(columns, orjson.loads(orjson.dumps(rows, default=str)), len(fetched) > max_rows,
                     time.perf_counter() - started)
