"""``NAME@N`` references: parsing and the one way to read a version, which verifies it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from ..errors import InputError
from ..store import rows
from .errors import VersionNotFound

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Ref:
    name: str
    number: int

    def __str__(self) -> str:
        return f"{self.name}@{self.number}"


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise InputError(f"version name {name!r} must be letters, digits, '_', '.', '-' (up to 100, "
                         "starting with a letter or digit)")
    return name


def parse_ref(ref: str) -> Ref:
    name, sep, number = (ref or "").rpartition("@")
    if not sep or not number.isdigit():
        raise InputError(f"expected a version as NAME@N (e.g. support@2), got {ref!r}")
    return Ref(check_name(name), int(number))


def resolve(conn: duckdb.DuckDBPyConnection, ref: str | Ref, verify: bool = True) -> dict:
    """The version row of ``NAME@N`` (id, name, number, status, content_hash, counts, ...).

    With ``verify`` (the default) the stored items are re-hashed first and a mismatch raises
    ``VersionTampered``: a caller (the trainer) never gets a version whose bytes changed."""
    from .hashing import verify_version

    ref = parse_ref(ref) if isinstance(ref, str) else ref
    found = rows(conn, "versions.by_ref", {"name": ref.name, "number": ref.number})
    if not found:
        raise VersionNotFound(f"no dataset version {ref}; see `curator version list`")
    version = decode(found[0])
    if verify:
        verify_version(conn, version)
    return version


def decode(row: dict) -> dict:
    """JSON columns as Python values, ``ref`` added."""
    import orjson

    out = dict(row)
    for key in ("split_spec", "dedup_params", "counts", "leakage", "grouping"):
        if isinstance(out.get(key), str):
            out[key] = orjson.loads(out[key])
    out["ref"] = f"{out['name']}@{out['number']}"
    return out
