"""Dataset versions: immutable, grouped and leakage-checked splits of approved examples, and
exports a trainer can trust (``resolve`` verifies; the trainer refuses unapproved manifests).

    create_version(conn, "support", actor) → row of support@N (draft)
    approve_version(conn, "support@N", actor) → approved, after a clean leakage check
    resolve(conn, "support@N") → the verified version row
    export_version(conn, "support@N", "openai", out_dir) → manifest dict
"""

from __future__ import annotations

import duckdb

from ..store import rows
from .approve import approve_version, leakage_report
from .create import create_version
from .diff import diff_versions
from .errors import FilterError, LeakageFound, VersionImmutable, VersionNotFound, VersionTampered
from .export import export_version
from .refs import decode, parse_ref, resolve

__all__ = ["approve_version", "create_version", "diff_versions", "export_version", "leakage_report",
           "list_versions", "parse_ref", "resolve", "show_version", "FilterError", "LeakageFound",
           "VersionImmutable", "VersionNotFound", "VersionTampered"]


def list_versions(conn: duckdb.DuckDBPyConnection, name: str | None = None) -> list[dict]:
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
