"""``--where``: one SQL boolean over the columns of the ``version_candidates`` view.

The filter is parsed by DuckDB itself (``json_serialize_sql``) inside a fixed query, and the
parse tree must be exactly that query with a WHERE clause that names only the view's columns,
holds no subquery (so no other table, no table function, no file) and no statement of its own.
Only then is it run, as a WHERE over the view. Hand-written because no library checks a DuckDB
expression against a column allow-list.
"""

from __future__ import annotations

import duckdb
import orjson

from .errors import FilterError

VIEW = "version_candidates"
# Functions that read outside the row (settings, environment, files) are refused by name.
REFUSED_FUNCTIONS = {"getenv", "current_setting", "read_blob", "read_text", "query", "query_table",
                     "glob", "file_exists", "nextval", "currval", "setseed", "random", "uuid", "gen_random_uuid"}


def columns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {VIEW} LIMIT 0")
        return [d[0] for d in cur.description]


def _walk(node, found: dict) -> None:
    if isinstance(node, dict):
        cls = node.get("class")
        if cls == "SUBQUERY":
            found["subquery"] = True
        elif cls == "COLUMN_REF":
            found["columns"].append(node.get("column_names", []))
        elif cls == "FUNCTION":
            found["functions"].append(str(node.get("function_name", "")).lower())
        elif cls in ("PARAMETER", "DEFAULT"):
            found["other"].append(cls.lower())
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def validate(conn: duckdb.DuckDBPyConnection, where: str, option: str = "--where") -> str:
    """Return the filter if it is safe; raise ``FilterError`` saying why not (``option`` names the
    flag in the message: ``--group-by`` expressions are checked the same way)."""
    text = (where or "").strip()
    if not text:
        raise FilterError(f"{option} is empty; leave it out")
    if ";" in text:
        raise FilterError(f"{option} {where!r}: a filter is one boolean expression; ';' (a second statement) is refused")
    if "--" in text or "/*" in text:
        raise FilterError(f"{option} {where!r}: SQL comments are refused in a filter")
    with conn.cursor() as cur:
        tree = orjson.loads(cur.execute("SELECT json_serialize_sql(?)", [f"SELECT id FROM {VIEW} WHERE ({text})"])
                            .fetchone()[0])
    if tree.get("error"):
        raise FilterError(f"{option} {where!r} is not a valid SQL expression: {tree.get('error_message')}")
    statements = tree.get("statements", [])
    node = statements[0]["node"] if len(statements) == 1 else {}
    frm = node.get("from_table") or {}
    if (node.get("type") != "SELECT_NODE" or frm.get("table_name") != VIEW or node.get("group_expressions")
            or node.get("having") or node.get("modifiers") or len(node.get("select_list", [])) != 1
            or node.get("cte_map", {}).get("map")):
        raise FilterError(f"{option} {where!r} must be a boolean expression only (no clauses of its own)")
    found = {"subquery": False, "columns": [], "functions": [], "other": []}
    _walk(node.get("where_clause"), found)
    if found["subquery"]:
        raise FilterError(f"{option} {where!r}: subqueries are refused; a filter sees only the columns of one example")
    allowed = set(columns(conn))
    for path in found["columns"]:
        name = path[-1] if path else ""
        if name not in allowed or (len(path) == 2 and path[0] != VIEW) or len(path) > 2:
            raise FilterError(f"{option} {where!r}: unknown column {'.'.join(path)!r}; "
                              f"filters may use {', '.join(sorted(allowed))}")
    bad = sorted(set(found["functions"]) & REFUSED_FUNCTIONS)
    if bad:
        raise FilterError(f"{option} {where!r}: function {bad[0]}() is refused in a filter")
    if found["other"]:
        raise FilterError(f"{option} {where!r}: parameters are refused in a filter")
    return text


def selected_ids(conn: duckdb.DuckDBPyConnection, where: str | None, min_rating: float | None) -> list[int]:
    """Ids of approved, non-duplicate examples that pass the filter and the rating floor."""
    clause = f"({validate(conn, where)})" if where is not None else "true"
    sql = f"SELECT id FROM {VIEW} WHERE {clause} AND ($min_rating IS NULL OR rating >= $min_rating) ORDER BY id"
    with conn.cursor() as cur:
        try:
            return [r[0] for r in cur.execute(sql, {"min_rating": min_rating}).fetchall()]
        except duckdb.Error as exc:  # a type error only binding finds, e.g. kind > 3
            raise FilterError(f"--where {where!r} failed: {str(exc).splitlines()[0]}") from None


def group_values(conn: duckdb.DuckDBPyConnection, expr: str, ids: list[int]) -> dict[int, str | None]:
    """``--group-by``: example id → the expression's value as text (NULL: no user key), checked
    like ``--where`` (the view's columns only, no subquery, no file or setting access)."""
    text = validate(conn, f"({expr}) IS NOT NULL", "--group-by")[1:-len(") IS NOT NULL")]
    sql = f"SELECT id, CAST(({text}) AS VARCHAR) FROM {VIEW} WHERE id IN (SELECT unnest($ids::BIGINT[]))"
    with conn.cursor() as cur:
        try:
            return dict(cur.execute(sql, {"ids": ids}).fetchall())
        except duckdb.Error as exc:
            raise FilterError(f"--group-by {expr!r} failed: {str(exc).splitlines()[0]}") from None
