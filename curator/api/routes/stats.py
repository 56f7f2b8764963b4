"""Statistics for data stewards: the store overview (`curator stats --json` v0), the full report
for the store or one version, and its parts (lengths, reviews, versions) for dashboards."""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import APIRouter, Query, Request

from ... import stats
from ...ops.stats import MAX_SEQ_LEN
from ..deps import Conn, SettingsDep, Steward

router = APIRouter(tags=["stats"])

Version = Annotated[Optional[str], Query(description="NAME@N: one version's stats instead of the store's")]
MaxSeqLen = Annotated[Optional[int], Query(gt=0, le=MAX_SEQ_LEN, description="count examples longer than this (default: settings)")]


def _report(conn, settings, version: str | None = None, max_seq_len: int | None = None) -> dict:
    return stats.report(conn, version, settings.stats_tokenizer, max_seq_len or settings.max_seq_len,
                        settings.stats_cache)


@router.get("/stats")
def overview(request: Request, conn: Conn, settings: SettingsDep, _caller: Steward) -> dict:
    if not settings.stats_cache:
        return stats.cached_overview(conn, False)
    return request.app.state.read_cache.get("stats.overview", request.app.state.runner.generation,
                                            lambda: stats.cached_overview(conn, True))


@router.get("/stats/lengths")
def lengths(conn: Conn, settings: SettingsDep, _caller: Steward, version: Version = None,
            max_seq_len: MaxSeqLen = None) -> dict:
    if not settings.stats_cache and not version:  # from scratch: only the lengths
        return stats.store_lengths(conn, settings.stats_tokenizer, max_seq_len or settings.max_seq_len, False)
    return _report(conn, settings, version, max_seq_len)["lengths"]


@router.get("/stats/reviews")
def reviews(conn: Conn, settings: SettingsDep, _caller: Steward) -> dict:
    """Reviewer throughput and agreement, outcomes, and rejection reasons."""
    if not settings.stats_cache:  # from scratch: only these queries
        return stats.reviews(conn) | {"rejections": stats.rejections(conn)}
    full = _report(conn, settings)
    return full["reviews"] | {"rejections": full["rejections"]}


@router.get("/stats/versions")
def versions(conn: Conn, settings: SettingsDep, _caller: Steward) -> list[dict]:
    if not settings.stats_cache:
        return stats.versions(conn)
    return _report(conn, settings)["versions"]
