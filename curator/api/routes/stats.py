"""Statistics for data stewards: the store overview (`curator stats --json` v0), the full report
for the store or one version, and its parts (lengths, reviews, versions) for dashboards."""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Query

from ... import stats
from ..deps import Conn, SettingsDep, Steward

router = APIRouter(tags=["stats"])

Version = Annotated[Optional[str], Query(description="NAME@N: one version's stats instead of the store's")]
MaxSeqLen = Annotated[Optional[int], Query(gt=0, description="count examples longer than this (default: settings)")]


@router.get("/stats")
def overview(conn: Conn, _caller: Steward) -> dict:
    return stats.overview(conn)


@router.get("/stats/report")
def report(conn: Conn, settings: SettingsDep, _caller: Steward, version: Version = None,
           max_seq_len: MaxSeqLen = None) -> dict:
    """Counts by source, kind, status/split; lengths by role; funnel; rejections; reviewers;
    duplicates; generation cost: what `curator stats --json` prints (``version``: that version's report)."""
    return stats.report(conn, version, settings.stats_tokenizer, max_seq_len or settings.max_seq_len,
                        settings.stats_cache)


@router.get("/stats/lengths")
def lengths(conn: Conn, settings: SettingsDep, _caller: Steward, version: Version = None,
            max_seq_len: MaxSeqLen = None) -> dict:
    limit = max_seq_len or settings.max_seq_len
    if version:
        return stats.version_report(conn, version, settings.stats_tokenizer, limit, settings.stats_cache)["lengths"]
    return stats.store_lengths(conn, settings.stats_tokenizer, limit, settings.stats_cache)


@router.get("/stats/reviews")
def reviews(conn: Conn, _caller: Steward) -> dict:
    return stats.reviews(conn) | {"rejections": stats.rejections(conn)}


@router.get("/stats/versions")
def versions(conn: Conn, _caller: Steward) -> list[dict]:
    return stats.versions(conn)
