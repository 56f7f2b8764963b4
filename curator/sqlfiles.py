"""Where the SQL lives and how named queries are read.

Migrations are ``sql/NNN_name.sql``; named queries are ``-- name: xyz`` blocks in
``sql/queries/*.sql`` (the aiosql convention), so SQL is reviewed as SQL, not as Python strings.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_NAME = re.compile(r"^--\s*name:\s*([\w.]+)\s*$", re.MULTILINE)


def sql_dir() -> Path:
    """The repo's ``sql/`` in a checkout or editable install, ``curator/sql`` in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "sql", here / "sql"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("curator's sql/ directory is missing from this installation")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every ``NNN_name.sql``, in order."""
    found = []
    for path in sorted(sql_dir().glob("[0-9][0-9][0-9]_*.sql")):
        found.append((int(path.name[:3]), path.stem[4:], path.read_text(encoding="utf-8")))
    return found


@lru_cache
def named_queries() -> dict[str, str]:
    """Every ``-- name:`` block of ``sql/queries/*.sql``, keyed ``file.name``."""
    queries: dict[str, str] = {}
    for path in sorted((sql_dir() / "queries").glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        parts = _NAME.split(text)
        for name, body in zip(parts[1::2], parts[2::2]):
            key = f"{path.stem}.{name}"
            if key in queries:
                raise ValueError(f"duplicate query name {key} in {path}")
            queries[key] = body.strip().rstrip(";")
    return queries


def query(name: str) -> str:
    try:
        return named_queries()[name]
    except KeyError:
        raise KeyError(f"no named query {name!r} in sql/queries/") from None
