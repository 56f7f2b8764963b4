"""API keys: random secrets shown once, stored as SHA-256, each bound to one role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import duckdb

from .audit import record_audit
from .errors import ConflictError, InputError, NotFoundError
from .sqlfiles import query
from .store import rows, transaction

ROLES = ("reviewer", "steward", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        """Roles are ordered: an admin may do what a steward may, a steward what a reviewer may."""
        return RANK[self.role] >= RANK[role]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(conn: duckdb.DuckDBPyConnection, name: str, role: str, actor: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not name.strip():
        raise InputError("a key needs a name")
    secret = "cur_" + secrets.token_urlsafe(32)
    with transaction(conn):
        if conn.execute(query("keys.by_name"), {"name": name}).fetchone():
            raise ConflictError(f"a key named {name!r} already exists; revoke it or choose another name")
        conn.execute(query("keys.insert"), {"name": name, "role": role, "key_hash": _hash(secret),
                                            "prefix": secret[:8]})
        record_audit(conn, actor, "keys.create", f"key:{name}", {"role": role})
    return secret


def verify_key(conn: duckdb.DuckDBPyConnection, secret: str) -> Principal | None:
    rows = conn.execute(query("keys.by_hash"), {"key_hash": _hash(secret)}).fetchall()
    return Principal(*rows[0]) if rows else None


def list_keys(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    return rows(conn, "keys.list")


def revoke_key(conn: duckdb.DuckDBPyConnection, name: str, actor: str) -> None:
    with transaction(conn):
        if not conn.execute(query("keys.revoke"), {"name": name}).fetchone():
            raise NotFoundError(f"no active key named {name!r}")
        record_audit(conn, actor, "keys.revoke", f"key:{name}", {})
