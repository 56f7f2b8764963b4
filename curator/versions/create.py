"""``version create``: freeze approved examples into a new immutable version of a name.

Reads the pool (approved, not a near-duplicate, through the filter and rating floor), applies
the reviewers' edits to the last assistant message, groups and splits, and inserts the version
with its items and content hash in one transaction. The only INSERT into the version tables.

Groups are the connected components of every relation approval's leakage check tests (near-
duplicate pairs at the dedup threshold, shared non-boilerplate n-grams of responses and inputs)
plus source document, source record and ``--group-by``, so a fresh version passes its own gate.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple

import duckdb
import orjson
import pyarrow as pa

from ..audit import record_audit
from ..errors import InputError
from ..sqlfiles import query
from ..store import rows, transaction
from .filters import group_values, selected_ids
from ..normalize import sha256_text
from .grouping import grouping_report, relation_links
from .hashing import canonical, content_hash, item_key, verify_version
from .overlap import OverlapParams
from .errors import UnreviewedTurns
from .refs import check_name, resolve
from .reviewed import unreviewed_turns
from .splits import SPLITS, Member, assign, parse_split
from .stratify import DEFAULT_MIN_CLASS_SHARE, assign_stratified, class_labels, class_report

# Parameters that, with identical items, make a new version the same as the latest one.
SAME = ("filter", "min_rating", "split_spec", "seed", "dedup_run_id", "grouping")


def apply_edit(messages: list[dict], final_response: str | None) -> list[dict]:
    """The messages with the last assistant message's content replaced by the reviewer's edit."""
    if not final_response:
        return messages
    out = [dict(m) for m in messages]
    for m in reversed(out):
        if m.get("role") == "assistant":
            m["content"] = final_response
            break
    return out


class Item(NamedTuple):
    """One example as the version will hold it (a row of ``version_items``)."""
    example_id: int
    split: str
    group_key: str
    messages: str  # canonical JSON, the reviewer's edit applied
    example_hash: str
    label: str | None


def _key(params: dict, item: Item) -> tuple:
    """A staged item as content_hash covers it."""
    return item_key(params, item._asdict())


def _check(name: str, split: str | dict, seed: int, min_rating: float | None,
           min_class_share: float) -> tuple[dict, int, float | None]:
    """The split shares, seed and rating floor as they are stored and hashed; bad ones are refused."""
    check_name(name)
    shares = parse_split(split)
    if min_rating is not None and not 1 <= min_rating <= 5:
        raise InputError(f"--min-rating is a correctness rating from 1 to 5, got {min_rating}")
    min_rating = None if min_rating is None else float(min_rating)  # hashed as stored (DOUBLE): 4 → 4.0
    seed = int(seed)
    if not 0 <= min_class_share < 1:
        raise InputError(f"--min-class-share is a share between 0 and 1, got {min_class_share}")
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    return shares, seed, min_rating


def _items(conn: duckdb.DuckDBPyConnection, name: str, ids: list[int], shares: dict, seed: int,
           group_by: str | None, stratify_by: str | None, overlap: OverlapParams, dedup_params: dict | None):
    """The pool's examples, edited, grouped and placed in splits; and the relations found."""
    pool = rows(conn, "versions.pool", {"ids": ids})
    frozen = {r["example_id"] for r in rows(conn, "versions.frozen_test", {"name": name})}
    user_keys = group_values(conn, group_by, ids) if group_by is not None else {}
    members = [Member(r["id"], r["cluster_id"], r["document_id"], r["origin"], user_keys.get(r["id"]))
               for r in pool]
    edited = {r["id"]: apply_edit(orjson.loads(r["messages"]), r["final_response"]) for r in pool}
    unseen = unreviewed_turns(conn, ids, edited)
    if unseen:
        raise UnreviewedTurns(unseen, f"version {name}")
    labels = class_labels(conn, stratify_by, ids) if stratify_by is not None else None
    links, found = relation_links(conn, edited, dedup_params, overlap)  # signs those: the gate will compare them
    placed = (assign(members, seed, shares, frozen, links) if labels is None
              else assign_stratified(members, seed, shares, frozen, links, labels))
    items = []
    for r in pool:
        text = canonical(edited[r["id"]])
        split_name, group = placed[r["id"]]
        items.append(Item(r["id"], split_name, group, text, sha256_text(text), labels[r["id"]] if labels else None))
    return items, found


def _grouping(items: list[Item], shares: dict, found, overlap: OverlapParams, group_by: str | None,
              stratify_by: str | None, min_class_share: float) -> dict:
    """The version's grouping record: the relations used, their report and, when stratified, the classes."""
    grouping = {"overlap": overlap.as_dict(), "group_by": group_by,
                "report": grouping_report([(i.split, i.group_key) for i in items], shares, found)}
    if stratify_by is not None:  # only then: versions cut without it keep their grouping (and hash) shape
        grouping |= {"stratify_by": stratify_by,
                     "classes": class_report([(i.split, i.label) for i in items], shares, min_class_share)}
    return grouping


def _unchanged(conn: duckdb.DuckDBPyConnection, previous: list[dict], params: dict, items: list[Item]) -> dict | None:
    """The latest version of the name when it holds exactly these items with these parameters."""
    if not previous:
        return None
    latest = resolve(conn, f"{params['name']}@{previous[0]['number']}", verify=False)
    held = [item_key(latest, i) for i in verify_version(conn, latest)]
    if all(latest[k] == params[k] for k in SAME) and held == [_key(params, i) for i in items]:
        return latest
    return None


def _insert(conn: duckdb.DuckDBPyConnection, params: dict, items: list[Item], actor: str, audit: dict) -> int:
    """Insert the version, its items and the audit row in one transaction; returns the version id."""
    staged = pa.table({field: [getattr(i, field) for i in items] for field in Item._fields[:-1]}
                      | {"label": pa.array([i.label for i in items], pa.string())})
    with transaction(conn):
        json_cols = {k: orjson.dumps(params[k], option=orjson.OPT_SORT_KEYS).decode()
                     for k in ("split_spec", "counts", "grouping")}
        json_cols["dedup_params"] = (None if params["dedup_params"] is None
                                     else orjson.dumps(params["dedup_params"], option=orjson.OPT_SORT_KEYS).decode())
        version_id = conn.execute(query("versions.insert_version"), {**params, **json_cols}).fetchone()[0]
        conn.register("staged_items", staged)
        conn.execute(query("versions.insert_items"), {"version_id": version_id})
        conn.unregister("staged_items")
        record_audit(conn, actor, "version.create", f"{params['name']}@{params['number']}",
                     {"version_id": version_id, "counts": params["counts"], "content_hash": params["content_hash"]}
                     | audit)
    return version_id


def create_version(conn: duckdb.DuckDBPyConnection, name: str, actor: str, split: str | dict = "0.8,0.1,0.1",
                   seed: int = 0, where: str | None = None, min_rating: float | None = None,
                   group_by: str | None = None, overlap: OverlapParams | None = None,
                   stratify_by: str | None = None, min_class_share: float = DEFAULT_MIN_CLASS_SHARE) -> dict:
    """Create ``name@(last + 1)`` and return its version row (verified), with ``created``; when
    the latest version of the name already holds exactly these items with these parameters,
    return it instead (``created`` false), so a repeated command adds no version.

    ``group_by``: an SQL expression over ``version_candidates`` whose equal values share a group;
    ``overlap``: what n-gram overlap links examples (and the gate checks), boilerplate included;
    ``stratify_by``: an SQL expression whose value is each example's class: every class's split
    shares then follow the requested ones (``stratify``), and classes under ``min_class_share``
    are warned about in the report."""
    shares, seed, min_rating = _check(name, split, seed, min_rating, min_class_share)
    overlap = overlap or OverlapParams()
    ids = selected_ids(conn, where, min_rating)
    if not ids:
        raise InputError("no approved, non-duplicate example passes the filter: nothing to version "
                         "(examples enter a version only after review approves them)")
    dedup = rows(conn, "versions.latest_dedup_run")
    dedup_id, dedup_params = (dedup[0]["id"], orjson.loads(dedup[0]["params"])) if dedup else (None, None)
    unclustered = rows(conn, "versions.unsigned_in_pool", {"ids": ids, "dedup_run_id": dedup_id})[0]["n"]
    items, found = _items(conn, name, ids, shares, seed, group_by, stratify_by, overlap, dedup_params)
    previous = rows(conn, "versions.latest_of_name", {"name": name})
    params = {"name": name, "number": previous[0]["number"] + 1 if previous else 1,
              "parent_id": previous[0]["id"] if previous else None, "filter": where, "min_rating": min_rating,
              "split_spec": shares, "seed": seed, "dedup_run_id": dedup_id, "dedup_params": dedup_params,
              "counts": {s: sum(1 for i in items if i.split == s) for s in SPLITS},
              "grouping": _grouping(items, shares, found, overlap, group_by, stratify_by, min_class_share),
              "created_by": actor, "created_at": datetime.now(timezone.utc)}
    latest = _unchanged(conn, previous, params, items)
    if latest is not None:  # a re-run that would freeze exactly what the latest version holds adds nothing
        return latest | {"created": False}
    params["content_hash"] = content_hash(params, (_key(params, i) for i in items))
    _insert(conn, params, items, actor, {"filter": where, "min_rating": min_rating, "seed": seed, "split": shares,
                                         "group_by": group_by, "overlap": overlap.as_dict(),
                                         "stratify_by": stratify_by})
    version = resolve(conn, f"{name}@{params['number']}", verify=False)  # hashed just above
    return version | {"created": True, "unclustered": unclustered}
