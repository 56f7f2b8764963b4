"""Dataset versions and exports as operations. Creating, approving, checking (it may sign
examples) and exporting write, so they are jobs; list, show and diff are reads."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field

from .base import Context, Params, Result, Rows, operation

# The shape is in the schema (clients see it in the OpenAPI document); the name rules are checked
# again, with a message, by versions.refs.parse_ref.
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}@[0-9]{1,9}$"
Ref = Field(description="NAME@N, e.g. support@2", pattern=REF_PATTERN)


class CreateParams(Params):
    name: str = Field(description="dataset name; the version number is the next free one")
    split: str = Field("0.8,0.1,0.1", description="train,validation,test shares")
    seed: int = Field(0, ge=0, description="seed of the group → split hash")
    where: Optional[str] = Field(None, description="SQL boolean over version_candidates columns, "
                                 "e.g. \"kind = 'extracted'\"")
    min_rating: Optional[float] = Field(None, ge=1, le=5, description="mean correctness rating at least this (1-5)")
    group_by: Optional[str] = Field(None, description="SQL expression over version_candidates columns whose equal "
                                    "values share a group, e.g. \"metadata->>'patient_id'\"")
    boilerplate_share: float = Field(0.05, gt=0, le=1, description="n-grams in more than this share of examples are "
                                     "boilerplate")
    boilerplate_count: int = Field(10, ge=2, description="n-grams in more than this many examples are boilerplate")
    min_shared_ngrams: int = Field(10, ge=1, description="examples sharing this many n-grams overlap")
    stratify_by: Optional[str] = Field(None, description="SQL expression over version_candidates columns giving each "
                                       "example's class, kept at the split shares in every split, e.g. "
                                       "\"metadata->>'category'\" or response")
    min_class_share: float = Field(0.10, ge=0, lt=1, description="warn about classes under this share of the version")
    exclude_auto: bool = Field(False, description="leave out examples approved by auto-accept (no human verdict)")


class VersionResult(Result):
    ref: str
    status: str
    content_hash: str
    counts: dict[str, int]


@operation("version.create", params=CreateParams, result=VersionResult, kind="job", role="steward",
           method="POST", path="/versions", status_code=201, cli=("version", "create"))
def create(ctx: Context, p: CreateParams) -> dict:
    """Freeze approved, non-duplicate examples into a new immutable draft version of NAME."""
    from ..versions import create_version
    from ..versions.overlap import OverlapParams

    ctx.progress(0, None, None, "grouping, splitting, hashing")
    overlap = OverlapParams(boilerplate_share=p.boilerplate_share, boilerplate_count=p.boilerplate_count,
                            min_shared=p.min_shared_ngrams)
    where = p.where
    if p.exclude_auto:  # auto-accept writes its provenance into the example's metadata
        auto = "(metadata->'auto_accept') IS NULL"
        where = auto if where is None else f"({where}) AND {auto}"
    return create_version(ctx.conn, p.name, ctx.actor, split=p.split, seed=p.seed, where=where,
                          min_rating=p.min_rating, group_by=p.group_by, overlap=overlap,
                          stratify_by=p.stratify_by, min_class_share=p.min_class_share)


class RefParams(Params):
    ref: str = Ref


@operation("version.approve", params=RefParams, result=VersionResult, kind="job", role="steward", method="POST",
           path="/versions/{ref}/approve", cli=("version", "approve"))
def approve(ctx: Context, p: RefParams) -> dict:
    """Approve a draft after a clean cross-split leakage check (refused, naming the pairs, otherwise)."""
    from ..versions import approve_version

    ctx.progress(0, None, None, "checking for cross-split leakage")
    return approve_version(ctx.conn, p.ref, ctx.actor)


class LeakageResult(Result):
    version: str
    clean: bool


@operation("version.leakage", params=RefParams, result=LeakageResult, kind="job", role="steward", method="GET",
           path="/versions/{ref}/leakage", cli=("version", "leakage"))
def leakage(ctx: Context, p: RefParams) -> dict:
    """The cross-split leakage check approval runs, without approving: every pair it finds (a job:
    it may sign examples that have no signature yet)."""
    from ..versions import leakage_report

    ctx.progress(0, None, None, "checking for cross-split leakage")
    return leakage_report(ctx.conn, p.ref)


class ListParams(Params):
    name: Optional[str] = Field(None, description="only this name")


@operation("version.list", params=ListParams, result=Rows, kind="read", role="steward", method="GET",
           path="/versions", cli=("version", "list"))
def list_(ctx: Context, p: ListParams) -> list[dict]:
    """Every version: status, split counts, content hash."""
    from ..versions import list_versions

    return list_versions(ctx.conn, p.name)


@operation("version.show", params=RefParams, result=VersionResult, kind="read", role="steward", method="GET",
           path="/versions/{ref}", cli=("version", "show"))
def show(ctx: Context, p: RefParams) -> dict:
    """One version, verified against its content hash: parameters, counts, groups per split."""
    from ..versions import show_version

    return show_version(ctx.conn, p.ref)


class DiffParams(Params):
    a: str = Ref
    b: str = Ref


class DiffResult(Result):
    a: str
    b: str
    added: list[int]
    removed: list[int]
    changed: list[int]
    moved: list[dict]
    unchanged: int


@operation("version.diff", params=DiffParams, result=DiffResult, kind="read", role="steward", method="GET",
           path="/versions/{a}/diff/{b}", cli=("version", "diff"))
def diff(ctx: Context, p: DiffParams) -> dict:
    """Examples added, removed, changed (text) and moved between splits from A to B."""
    from ..versions import diff_versions

    return diff_versions(ctx.conn, p.a, p.b)


class ExportParams(Params):
    version: str = Ref
    format: Literal["openai", "alpaca", "parquet", "hf"] = "openai"
    out: Optional[str] = Field(None, description="directory to write (replaced if an earlier export); through a "
                               "service, the files are downloaded there and checked against the manifest")
    balance: Literal["none", "oversample", "undersample"] = Field(
        "none", description="rebalance the train split's classes (a version cut with --stratify-by): repeat minority "
        "examples or drop majority ones, seeded, recorded in the manifest")
    balance_seed: int = Field(0, ge=0, description="seed of the --balance sampling")


class ExportResult(Result):
    ref: str
    status: str
    format: str
    content_hash: str
    splits: dict
    files: dict[str, str]


def export_dir(ctx: Context, ref: str, fmt: str) -> Path:
    """Where the service keeps an export for download: ``STATE_DIR/exports/NAME@N/FORMAT``."""
    from ..versions import parse_ref

    return ctx.settings.state_dir / "exports" / str(parse_ref(ref)) / fmt


@operation("export", params=ExportParams, result=ExportResult, kind="job", role="steward", method="POST",
           path="/exports", status_code=201, cli=("export",), local_only_fields=("out",))
def export(ctx: Context, p: ExportParams) -> dict:
    """Write a version's splits for a trainer (OpenAI JSONL, Alpaca JSON, Parquet, HF DatasetDict) with manifest.json."""
    from ..audit import record_audit
    from ..store import transaction
    from ..versions import export_version

    ctx.progress(0, None, None, f"exporting {p.version} as {p.format}")
    manifest = export_version(ctx.conn, p.version, p.format,
                              Path(p.out) if p.out else export_dir(ctx, p.version, p.format),
                              balance=p.balance, balance_seed=p.balance_seed)
    with transaction(ctx.conn):
        record_audit(ctx.conn, ctx.actor, "version.export", manifest["ref"],
                     {"format": p.format, "content_hash": manifest["content_hash"], "files": manifest["files"],
                      "balance": manifest.get("balance")})
    return manifest
