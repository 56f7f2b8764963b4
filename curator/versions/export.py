"""``curator export NAME@N --format ... --out DIR``: the verified version's splits in a trainer's
format, the dataset card ``README.md`` (``card.py``, generated from the store) and
``manifest.json`` (ids, hashes, parameters, approval, per-split counts and file SHA-256, the
card's included). Written into a sibling directory and renamed into place, so DIR is either the old
export or the new one, never half of each; the same version gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import orjson

from ..errors import InputError
from ..store import rows
from .balance import rebalance
from .card import write_card
from .formats import WRITERS
from .hashing import verify_version
from .refs import decode, resolve
from .splits import SPLITS

MANIFEST = "manifest.json"
MANIFEST_SCHEMA = 1


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_hashes(out: Path) -> dict[str, str]:
    """SHA-256 of every file under ``out`` but the manifest, by relative path."""
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    return {f: _sha256(out / f) for f in files}


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def manifest_for(conn: duckdb.DuckDBPyConnection, version: dict, fmt: str, out: Path,
                 counts: dict[str, int] | None = None, balance: dict | None = None) -> dict:
    parent = None
    if version["parent_id"] is not None:
        p = decode(rows(conn, "versions.by_id", {"id": version["parent_id"]})[0])
        parent = {"version_id": p["id"], "ref": p["ref"], "content_hash": p["content_hash"]}
    hashes = file_hashes(out)

    def of_split(split: str) -> dict:
        mine = {f: h for f, h in hashes.items() if f.split("/")[0] == split or f.split(".")[0] == split}
        return {"count": (counts or version["counts"]).get(split, 0), "files": mine}

    return {
        "manifest_schema": MANIFEST_SCHEMA, "version_id": version["id"], "name": version["name"],
        "number": version["number"], "ref": version["ref"], "content_hash": version["content_hash"],
        "status": version["status"], "created_by": version["created_by"], "created_at": _iso(version["created_at"]),
        "approved_by": version["approved_by"], "approved_at": _iso(version["approved_at"]), "parent": parent,
        "parameters": {"filter": version["filter"], "min_rating": version["min_rating"],
                       "split": version["split_spec"], "seed": version["seed"],
                       "dedup_run_id": version["dedup_run_id"], "dedup": version["dedup_params"],
                       "grouping": version.get("grouping")},
        "format": fmt, "splits": {s: of_split(s) for s in SPLITS}, "files": hashes,
    } | ({"balance": balance} if balance else {})


def _replaceable(out: Path) -> bool:
    return not out.exists() or (out.is_dir() and (not any(out.iterdir()) or (out / MANIFEST).is_file()))


def export_version(conn: duckdb.DuckDBPyConnection, ref: str, fmt: str, out_dir: Path | str,
                   balance: str = "none", balance_seed: int = 0) -> dict:
    """Write the export and return its manifest; raises ``VersionTampered`` before writing anything
    if the stored version no longer matches its content hash. ``balance``: the train split's
    classes evened out (``balance.rebalance``), recorded in the manifest."""
    if fmt not in WRITERS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(WRITERS)}")
    out = Path(out_dir)
    if not _replaceable(out):
        raise InputError(f"{out} exists and is not an earlier curator export (no {MANIFEST}); choose an empty "
                         "or new directory")
    version = resolve(conn, ref, verify=False)
    items = verify_version(conn, version)
    by_split = {s: [i for i in items if i["split"] == s] for s in SPLITS}
    by_split["train"], balanced = rebalance(by_split["train"], version, balance, balance_seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        WRITERS[fmt](staging, by_split, version)
        counts = {s: len(v) for s, v in by_split.items()}
        write_card(conn, version, staging, fmt, counts, file_hashes(staging), balanced)
        manifest = manifest_for(conn, version, fmt, staging, counts, balanced)
        (staging / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
                                         + b"\n")
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():  # renames only: a crash leaves the old export or the new one, never half
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def read_manifest(out_dir: Path | str, require_approved: bool = True) -> dict:
    """The manifest of an export directory after checking every listed file's SHA-256 (and, by
    default, that the version was approved): what a trainer calls before it reads a byte."""
    from .errors import VersionTampered

    out = Path(out_dir)
    try:
        manifest = orjson.loads((out / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise InputError(f"{out} holds no {MANIFEST}: export a version first (`curator export NAME@N`)") from None
    except orjson.JSONDecodeError as exc:
        raise VersionTampered(f"{out / MANIFEST} is not valid JSON: {exc}") from None
    for name, digest in manifest.get("files", {}).items():
        path = out / name
        if not path.is_file():
            raise VersionTampered(f"{path} is listed in the manifest of {manifest.get('ref')} but missing")
        if _sha256(path) != digest:
            raise VersionTampered(f"{path} was changed after export: its SHA-256 differs from the manifest of "
                                  f"{manifest.get('ref')}; export the version again")
    if require_approved and manifest.get("status") != "approved":
        raise InputError(f"{manifest.get('ref')} in {out} is a {manifest.get('status')} version; only approved "
                         "versions may be trained on (`curator version approve`)")
    return manifest
