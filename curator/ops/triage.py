"""Triage before review as operations: quality filters (a job) and the rule list (a read)."""

from __future__ import annotations

from pydantic import RootModel

from ..quality.config import RULES, QualityConfig
from .base import Context, Result, operation
from .review import NoParams


class FilterParams(QualityConfig):
    """The filter set (``curator.quality.config.QualityConfig``) is the parameters model itself,
    so the CLI, the API and a saved run share one validated shape."""


class FilterResult(Result):
    run_id: int
    config_hash: str
    rules: list[str]
    examples: int
    flagged: int
    kept: int
    by_rule: dict[str, int]


@operation("triage.filter", params=FilterParams, result=FilterResult, kind="job", role="steward", method="POST",
           path="/triage/filter", cli=("triage", "filter"), local_only_fields=("tokenizer",))
def filter_examples(ctx: Context, p: FilterParams) -> dict:
    """Flag candidates with the quality rules (kept or a reason per rule); review push leaves flagged ones out."""
    from ..quality.run import run_filters

    cfg = QualityConfig.model_validate(p.model_dump() | {"tokenizer": p.tokenizer or ctx.settings.stats_tokenizer})
    return run_filters(ctx.conn, cfg, ctx.actor,
                       progress=lambda done, total: ctx.progress(done, total, "examples", "quality")).summary()


class RulesResult(RootModel[dict[str, str]]):
    """Rule name -> what it flags."""


@operation("triage.rules", params=NoParams, result=RulesResult, kind="read", role="reviewer", method="GET",
           path="/triage/rules", cli=("triage", "rules"))
def rules(_ctx: Context, _p: NoParams) -> dict:
    """The quality rules and what each flags."""
    return dict(RULES)
