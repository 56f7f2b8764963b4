"""Audit rows written set-wise keep their order and belong to the caller's transaction."""

from __future__ import annotations

import orjson
import pytest

from curator.audit import record_audit, record_audits
from curator.store import open_store, transaction


def test_many_rows_in_order_and_in_the_callers_transaction(tmp_path):
    conn = open_store(tmp_path / "a.duckdb")
    try:
        entries = [("label-studio:webhook", f"review.annotation_{k}", None, {"examples": [k]}) for k in range(50)]
        with transaction(conn):
            record_audit(conn, "cli:x", "first", "t:1", None)
            record_audits(conn, entries)
        with pytest.raises(RuntimeError), transaction(conn):
            record_audits(conn, [("a", "rolled.back", None, {})])
            raise RuntimeError("the change failed")
        got = conn.execute("SELECT actor, action, target, details FROM audit_log ORDER BY id").fetchall()
    finally:
        conn.close()
    assert [g[1] for g in got] == ["first"] + [e[1] for e in entries]
    assert [orjson.loads(g[3]) for g in got[1:]] == [e[3] for e in entries]
    assert got[0][2] == "t:1" and all(g[2] is None for g in got[1:])
