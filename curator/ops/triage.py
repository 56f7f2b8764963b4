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
                     max_cost_usd=p.max_cost_usd,
                     progress=lambda done, total, stage: ctx.progress(done, total, "examples", stage)).summary()


class BootstrapParams(Params):
    """What calibration and an auto-accept grant share: the precision wanted and the resampling."""

    target: float = Field(0.95, gt=0, lt=1, description="precision wanted on 'accept'")
    bootstrap: int = Field(1000, ge=100, le=100_000, description="bootstrap resamples")
    seed: int = Field(0, description="bootstrap seed")


class CalibrateParams(BootstrapParams):
    model: Optional[str] = Field(None, description="judge model (default: the latest judged)")
    template_hash: Optional[str] = Field(None, description="judge template hash (default: the latest judged)")


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


class EnableParams(BootstrapParams):
    """``target``: the precision on 'accept' the bootstrap lower bound at the threshold must meet."""

    source: str = Field(description="source name the policy covers")
    template: str = Field(description="example template the policy covers ('(none)' for examples without one)")
    threshold: float = Field(ge=0, le=1, description="judge p(accept) at or above which candidates are accepted")
    min_reviewed: int = Field(200, ge=1, description="human-reviewed examples the grant must rest on")
    audit_share: float = Field(0.05, gt=0, lt=1, description="share still sent to humans as an audit sample")


class EnableResult(Result):
    policy_id: int
    granted: str
    reviewed: int
    precision_lower: float


@operation("triage.auto_accept.enable", params=EnableParams, result=EnableResult, kind="job", role="steward",
           method="POST", path="/triage/auto-accept/policies", cli=("triage", "auto-accept", "enable"))
def auto_accept_enable(ctx: Context, p: EnableParams) -> dict:
    """Grant auto-accept for a source and template, only if calibration earns it; refused with the numbers."""
    from ..judge.auto_accept import enable

    return enable(ctx.conn, ctx.actor, **p.model_dump())


class AutoRunResult(Result):
    policies: list[dict]


@operation("triage.auto_accept.run", params=NoParams, result=AutoRunResult, kind="job", role="steward",
           method="POST", path="/triage/auto-accept/run", cli=("triage", "auto-accept", "run"))
def auto_accept_run(ctx: Context, _p: NoParams) -> dict:
    """Apply enabled policies: check each audit (off below target), accept new candidates, draw the audit sample."""
    from ..judge.auto_accept import run

    return run(ctx.conn, ctx.actor)


class Policies(RootModel[list[dict]]):
    """Auto-accept policies with their audit sample's agreement over time."""


@operation("triage.auto_accept.status", params=NoParams, result=Policies, kind="read", role="reviewer",
           method="GET", path="/triage/auto-accept/policies", cli=("triage", "auto-accept", "status"))
def auto_accept_status(ctx: Context, _p: NoParams) -> list:
    """Auto-accept policies, enabled or switched off, with their audit's agreement over time."""
    from ..judge.auto_accept import status

    return status(ctx.conn)
