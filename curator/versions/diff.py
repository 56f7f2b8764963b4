"""``version diff A B``: what changed from A to B, by example id: added, removed, changed text
(different example hash), and split moves. Both versions are verified first."""

from __future__ import annotations

import duckdb

from .hashing import verify_version
from .refs import resolve


def diff_versions(conn: duckdb.DuckDBPyConnection, a: str, b: str) -> dict:
    va, vb = resolve(conn, a, verify=False), resolve(conn, b, verify=False)
    ia = {i["example_id"]: i for i in verify_version(conn, va)}
    ib = {i["example_id"]: i for i in verify_version(conn, vb)}
    both = sorted(ia.keys() & ib.keys())
    return {
        "a": va["ref"], "b": vb["ref"],
        "added": sorted(ib.keys() - ia.keys()),
        "removed": sorted(ia.keys() - ib.keys()),
        "changed": [i for i in both if ia[i]["example_hash"] != ib[i]["example_hash"]],
        "moved": [{"example_id": i, "from": ia[i]["split"], "to": ib[i]["split"]}
                  for i in both if ia[i]["split"] != ib[i]["split"]],
        "unchanged": sum(1 for i in both if ia[i]["example_hash"] == ib[i]["example_hash"]
                         and ia[i]["split"] == ib[i]["split"]),
    }
