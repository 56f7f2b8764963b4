"""Dataset versions: immutable, grouped and leakage-checked splits of approved examples, and
exports a trainer can trust (``resolve`` verifies; the trainer refuses unapproved manifests).

    create_version(conn, "support", actor) → row of support@N (draft)
    approve_version(conn, "support@N", actor) → approved, after a clean leakage check
    resolve(conn, "support@N") → the verified version row
    export_version(conn, "support@N", "openai", out_dir) → manifest dict
    read_manifest(out_dir) → that manifest, after checking file hashes and approval
"""

from __future__ import annotations

from importlib import import_module

import duckdb

from .errors import FilterError, LeakageFound, VersionImmutable, VersionNotFound, VersionTampered
from .refs import decode, parse_ref, resolve

# Imported on first use, so `curator --help` and unrelated commands do not load scipy and the
# dedup kernels (PEP 562 module __getattr__).
_LAZY = {"approve_version": "approve", "leakage_report": "approve", "create_version": "create",
         "diff_versions": "diff", "export_version": "export", "read_manifest": "export"}

__all__ = ["approve_version", "create_version", "diff_versions", "export_version", "leakage_report", "read_manifest",
           "list_versions", "parse_ref", "resolve", "show_version", "FilterError", "LeakageFound",
           "VersionImmutable", "VersionNotFound", "VersionTampered"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def list_versions(conn: duckdb.DuckDBPyConnection, name: str | None = None) -> list[dict]:
    from ..store import rows

    return [decode(r) for r in rows(conn, "versions.list", {"name": name})]


def show_version(conn: duckdb.DuckDBPyConnection, ref: str) -> dict:
    """The verified version row with its groups per split (how many groups, largest group)."""
    from .hashing import verify_version

    version = resolve(conn, ref, verify=False)
    items = verify_version(conn, version)
    groups: dict[str, dict[str, int]] = {}
    for i in items:
        groups.setdefault(i["split"], {}).setdefault(i["group_key"], 0)
        groups[i["split"]][i["group_key"]] += 1
    version["groups"] = {s: {"groups": len(g), "largest": max(g.values())} for s, g in sorted(groups.items())}
    version["verified"] = True
    return version
