"""``version approve``: the one change a version allows (draft → approved), granted only on a
clean leakage check of its verified content. The check's report is kept with the approval."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import orjson

from ..audit import record_audit
from ..sqlfiles import query
from ..store import transaction
from .errors import LeakageFound, UnreviewedTurns, VersionImmutable
from .hashing import verify_version
from .leakage import check_leakage, describe
from .refs import resolve
from .reviewed import unreviewed_turns


def leakage_report(conn: duckdb.DuckDBPyConnection, ref: str) -> dict:
    version = resolve(conn, ref, verify=False)
    return check_leakage(conn, version, verify_version(conn, version))


def approve_version(conn: duckdb.DuckDBPyConnection, ref: str, actor: str) -> dict:
    version = resolve(conn, ref, verify=False)
    items = verify_version(conn, version)
    if version["status"] != "draft":
        raise VersionImmutable(f"{version['ref']} is already approved (by {version['approved_by']}); versions "
                               "never change: cut a new version with `curator version create`")
    held = {i["example_id"]: i["messages"] for i in items}  # decoded by verify_version
    unseen = unreviewed_turns(conn, list(held), held)
    if unseen:
        raise UnreviewedTurns(unseen, f"approval of {version['ref']}")
    report = check_leakage(conn, version, items)  # signs unsigned rows in its own transactions
    if not report["clean"]:
        raise LeakageFound(f"approval of {version['ref']} refused: examples leak across splits: {describe(report)}. "
                           "Resolve by rejecting one example of each pair in review, then cut a new version "
                           "(`curator version create`)", report)
    with transaction(conn):
        done = conn.execute(query("versions.approve"), {
            "id": version["id"], "approved_by": actor, "approved_at": datetime.now(timezone.utc),
            "leakage": orjson.dumps(report).decode()}).fetchall()
        if not done:
            raise VersionImmutable(f"{version['ref']} was approved meanwhile; versions never change")
        record_audit(conn, actor, "version.approve", version["ref"],
                     {"version_id": version["id"], "content_hash": version["content_hash"]})
    return resolve(conn, version["ref"], verify=False)  # verified above; approval changes no item
