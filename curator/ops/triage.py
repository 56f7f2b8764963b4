"""Triage before review as operations: quality filters and the model judge (jobs), the rule list and
the judge's calibration against the experts (reads)."""

from __future__ import annotations

from typing import Optional

from pydantic import Field, RootModel

from ..quality.config import RULES, QualityConfig
from .base import Context, Params, Result, operation
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


class JudgeParams(Params):
    template: Optional[str] = Field(None, description="judge template: bundled name (default rubric) or .json file")
    limit: Optional[int] = Field(None, ge=0, description="judge at most N candidates")
    max_cost_usd: Optional[float] = Field(None, gt=0, description="stop sending past this spend "
                                          "(default $CURATOR_MAX_COST_USD)")


class JudgeResult(Result):
    template: str
    template_hash: str
    model: str
    examples: int
    judged: int
    blocked_pii: int
    failures: dict[str, int]
    run_id: Optional[int]
    cost_usd: float


@operation("triage.judge", params=JudgeParams, result=JudgeResult, kind="job", role="steward", method="POST",
           path="/triage/judge", cli=("triage", "judge"), local_only_fields=("template",))
def judge(ctx: Context, p: JudgeParams) -> dict:
    """Score candidates the filters kept on the review rubric with a model (cache, cost, budget, PII policy)."""
    from ..judge.judge import judge as run_judge

    return run_judge(ctx.conn, ctx.settings, template=p.template, actor=ctx.actor, limit=p.limit,
                     max_cost_usd=p.max_cost_usd).summary()


class CalibrateParams(Params):
    model: Optional[str] = Field(None, description="judge model (default: the latest judged)")
    template_hash: Optional[str] = Field(None, description="judge template hash (default: the latest judged)")
    target: float = Field(0.95, gt=0, lt=1, description="precision wanted on 'accept'")
    bootstrap: int = Field(1000, ge=100, le=100_000, description="bootstrap resamples")
    seed: int = Field(0, description="bootstrap seed")


class CalibrateResult(Result):
    model: str
    template_hash: str
    overall: dict
    groups: list[dict]


@operation("triage.calibrate", params=CalibrateParams, result=CalibrateResult, kind="read", role="steward",
           method="GET", path="/triage/calibration", cli=("triage", "calibrate"))
def calibrate(ctx: Context, p: CalibrateParams) -> dict:
    """Judge–human agreement and the auto-accept threshold (bootstrap interval) on reviewed examples."""
    from ..judge.calibrate import calibrate as run

    return run(ctx.conn, model=p.model, template_hash=p.template_hash, target=p.target, bootstrap=p.bootstrap,
               seed=p.seed)
