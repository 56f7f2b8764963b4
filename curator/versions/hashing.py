"""Content hashes: what makes "the same version" checkable.

``example_hash`` is the SHA-256 of the canonical messages JSON (sorted keys, as examples'
``content_hash``); ``content_hash`` covers the version's parameters and every item (example,
split, group, example hash) in example order. Reads re-compute both, because DuckDB has no
triggers to stop an UPDATE: tampering cannot be prevented underneath, only detected.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Iterable

import duckdb
import orjson

from ..normalize import sha256_text

from ..store import rows
from .errors import VersionTampered

# The columns content_hash covers; status and approval are the one change a version allows.
HASHED = ("name", "number", "parent_id", "filter", "min_rating", "split_spec", "seed", "dedup_run_id",
          "dedup_params", "counts", "created_by", "created_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(value: datetime) -> int:
    """A timestamp as integer microseconds since the epoch: exact, whatever the session time zone."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def canonical(messages: list[dict]) -> str:
    return orjson.dumps(messages, option=orjson.OPT_SORT_KEYS).decode()


def stratified(version: dict) -> bool:
    """Whether the version was cut with ``--stratify-by``: then each item's class is hashed too."""
    return bool((version.get("grouping") or {}).get("stratify_by"))


def item_key(version: dict, item: dict) -> tuple:
    """What content_hash covers of one item: (example_id, split, group_key, example_hash), plus
    the class label when the version is stratified (versions before labels hash as they did)."""
    key = (item["example_id"], item["split"], item["group_key"], item["example_hash"])
    return key + (item["label"],) if stratified(version) else key


def content_hash(params: dict, items: Iterable[tuple]) -> str:
    """SHA-256 over the canonical parameters, then one line per (example_id, split, group_key,
    example_hash[, label]), items in example order."""
    head = {k: params.get(k) for k in HASHED}
    if params.get("grouping") is not None:  # versions cut before it existed hash as they always did
        head["grouping"] = params["grouping"]
    head["created_at"] = _micros(head["created_at"])
    h = hashlib.sha256(orjson.dumps(head, option=orjson.OPT_SORT_KEYS))
    for item in sorted(items):
        h.update(b"\n" + orjson.dumps(list(item)))
    return h.hexdigest()


def verify_version(conn: duckdb.DuckDBPyConnection, version: dict) -> list[dict]:
    """Re-hash every item's messages and the whole version; return the items (messages decoded)
    or raise ``VersionTampered`` naming what no longer matches."""
    items = rows(conn, "versions.items", {"version_id": version["id"]})
    where = f"dataset version {version['ref']}"
    for item in items:
        item["messages"] = orjson.loads(item["messages"])
        if sha256_text(canonical(item["messages"])) != item["example_hash"]:
            raise VersionTampered(f"{where}: the messages of example {item['example_id']} were altered after the "
                                  "version was created (example_hash mismatch); the version cannot be trusted")
    counts: dict[str, int] = {}
    for item in items:
        counts[item["split"]] = counts.get(item["split"], 0) + 1
    if {k: v for k, v in version["counts"].items() if v} != counts:
        raise VersionTampered(f"{where}: stored items {counts} do not match the recorded counts {version['counts']}")
    got = content_hash(version, (item_key(version, i) for i in items))
    if got != version["content_hash"]:
        raise VersionTampered(f"{where}: rows were altered after the version was created (content_hash "
                              f"{got[:12]}… ≠ recorded {version['content_hash'][:12]}…); the version cannot be trusted")
    if version["status"] == "approved" and not (version.get("approved_by") and version.get("approved_at")):
        raise VersionTampered(f"{where}: marked approved without an approver")
    return items
