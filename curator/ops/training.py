"""Training runs as operations: start (on an approved version or its export), list, show,
cancel, resume. The run itself is a separate process (``python -m trainer run``): starting it
is a short job, and faces follow the run's own progress afterwards. Never imports torch."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field

from .base import Context, Params, Result, Rows, operation


class TrainParams(Params):
    version: str = Field(description="an approved version NAME@N, or a directory written by "
                        "`curator export NAME@N --format openai` (on the service's machine when one runs)")
    base_model: str = Field(description="local model folder or hub id")
    config: Optional[dict[str, Any]] = Field(None, description="training config keys (unknown keys are errors)")
    max_steps: Optional[int] = Field(None, gt=0, description="override the config's max_steps")


class RunView(Result):
    id: int
    version: str
    status: str


def view(ctx: Context, run_id: int, tail: int = 20) -> dict:
    from .. import training_jobs as jobs

    row = jobs.refresh(ctx.conn, run_id)
    return jobs.summary(row, jobs.log_tail(row["run_dir"], tail)) | {"eval_results": jobs.eval_results(ctx.conn, run_id)}


@operation("train", params=TrainParams, result=RunView, kind="job", role="admin", method="POST",
           path="/training-runs", status_code=201, cli=("train",))
def train(ctx: Context, p: TrainParams) -> dict:
    """Fine-tune (QLoRA) on an approved version (NAME@N or its export): pre-flight, baseline, train, compare, merge."""
    from pathlib import Path

    from .. import training_jobs as jobs

    config = dict(p.config or {}) | ({"max_steps": p.max_steps} if p.max_steps is not None else {})
    ctx.progress(0, None, None, "exporting and starting the trainer")
    if Path(p.version).is_dir() or "@" not in p.version:
        run_id = jobs.start_run(ctx.conn, Path(p.version), p.base_model, config, actor=ctx.actor,
                                state_dir=ctx.settings.state_dir)
    else:
        run_id = jobs.start_version_run(ctx.conn, p.version, p.base_model, config, actor=ctx.actor,
                                        state_dir=ctx.settings.state_dir)
    return view(ctx, run_id)


class ListParams(Params):
    limit: int = Field(50, ge=1, le=500, description="newest N runs")


@operation("training.list", params=ListParams, result=Rows, kind="read", role="steward", method="GET",
           path="/training-runs", cli=("training", "list"))
def list_(ctx: Context, p: ListParams) -> list[dict]:
    """Training runs, newest first."""
    from .. import training_jobs as jobs

    return [jobs.summary(jobs.refresh(ctx.conn, r["id"]), []) for r in jobs.list_runs(ctx.conn, p.limit)]


class RunParams(Params):
    run_id: int


class ShowParams(RunParams):
    tail: int = Field(20, ge=0, le=500, description="log lines to show")


@operation("training.show", params=ShowParams, result=RunView, kind="read", role="steward", method="GET",
           path="/training-runs/{run_id}", cli=("training", "show"))
def show(ctx: Context, p: ShowParams) -> dict:
    """Status, metrics, artifacts and the log tail of one run."""
    return view(ctx, p.run_id, p.tail)


@operation("training.cancel", params=RunParams, result=RunView, kind="job", role="admin", method="POST",
           path="/training-runs/{run_id}/cancel", cli=("training", "cancel"))
def cancel(ctx: Context, p: RunParams) -> dict:
    """Stop a run (SIGTERM, then SIGKILL); its checkpoints stay for `training resume`."""
    from .. import training_jobs as jobs

    jobs.cancel(ctx.conn, p.run_id, actor=ctx.actor)
    return view(ctx, p.run_id)


@operation("training.resume", params=RunParams, result=RunView, kind="job", role="admin", method="POST",
           path="/training-runs/{run_id}/resume", cli=("training", "resume"))
def resume(ctx: Context, p: RunParams) -> dict:
    """Continue a failed or cancelled run from its newest checkpoint."""
    from .. import training_jobs as jobs

    jobs.resume_run(ctx.conn, p.run_id, actor=ctx.actor)
    return view(ctx, p.run_id)


class CompareParams(Params):
    run_ids: list[int] = Field(min_length=2, description="two or more finished runs, oldest first")


class CompareResult(Result):
    runs: list[dict]
    steps: list[dict]


@operation("training.compare", params=CompareParams, result=CompareResult, kind="read", role="steward",
           method="POST", path="/training-runs/compare", cli=("training", "compare"))
def compare(ctx: Context, p: CompareParams) -> dict:
    """Runs on versions of one dataset side by side: the data delta (added, removed, edited) next to the metric deltas."""
    from ..training_compare import compare_runs

    return compare_runs(ctx.conn, p.run_ids)


class PairwiseJudgeParams(Params):
    run_id: int
    max_cost_usd: Optional[float] = Field(None, gt=0, description="stop sending judge requests past this spend "
                                          "(default $CURATOR_MAX_COST_USD)")


class PairwiseJudgeResult(Result):
    run_id: int
    n: int
    win: int
    tie: int
    loss: int
    cost_usd: float


@operation("training.judge", params=PairwiseJudgeParams, result=PairwiseJudgeResult, kind="job", role="admin", method="POST",
           path="/training-runs/{run_id}/judge", cli=("training", "judge"))
def judge(ctx: Context, p: PairwiseJudgeParams) -> dict:
    """A model judge compares base and fine-tuned answers pairwise in both orders: win/tie/loss rates with 95% intervals."""
    from ..judge.pairwise import judge_run

    ctx.progress(0, None, None, f"judging run {p.run_id} (both orders)")
    return judge_run(ctx.conn, p.run_id, ctx.settings, p.max_cost_usd)
