"""Expert review in Label Studio as operations: setup, push, pull (jobs) and status (a read)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Literal, Optional

from pydantic import Field, RootModel

from ..config import Settings
from .base import Context, Params, Result, operation


@contextmanager
def label_studio(settings: Settings) -> Iterator:
    """A Label Studio client for the configured server and token."""
    from annotation.client import LabelStudio

    with LabelStudio(settings.label_studio_url, settings.label_studio_token.get_secret_value()) as client:
        yield client


class NoParams(Params):
    pass


class SetupResult(RootModel[dict[str, dict]]):
    """Per project role (review, adjudication): its Label Studio id, title, action and webhook."""


@operation("review.setup", params=NoParams, result=SetupResult, kind="job", role="steward", method="POST",
           path="/review/setup", cli=("review", "setup"))
def setup(ctx: Context, _p: NoParams) -> dict:
    """Create or update the review and adjudication projects and their webhooks (idempotent)."""
    from annotation.setup import setup_projects

    with label_studio(ctx.settings) as client:
        report = setup_projects(ctx.conn, client, ctx.settings, ctx.actor)
    return {role: p | {"webhook_url": ctx.settings.webhook_url} for role, p in report.items()}


class PushParams(Params):
    limit: Optional[int] = Field(None, ge=0, description="push at most N candidates (in `order`); 0 pushes none")
    overlap: Optional[int] = Field(None, ge=1, le=10, description="independent reviews wanted per task "
                                   "(default: the project's current overlap, 1 at first)")
    source: Optional[list[str]] = Field(None, description="only candidates of these source names")
    kind: Optional[list[Literal["extracted", "synthetic", "imported"]]] = Field(
        None, description="only these example kinds")
    order: Literal["id", "newest", "random", "uncertainty", "coverage"] = Field(
        "id", description="which candidates come first: id, newest, random (seeded), uncertainty (judge-uncertain "
                          "first), coverage (least-reviewed source/class/length first)")
    seed: int = Field(0, description="seed of order=random")
    include_flagged: bool = Field(False, description="push examples the quality filters flagged too "
                                  "(the reviewer sees the flags)")
    where: Optional[str] = Field(None, min_length=1, max_length=10_000, description=(
        "only candidates this SQL boolean expression over the columns of examples selects, e.g. "
        "\"kind = 'extracted' AND id > 100\"; checked as read-only SQL (no other table)"))


class PushResult(Result):
    pii_scanned: int
    ls_project_id: int
    overlap: int
    pushed: int
    adopted: int
    skipped: list[dict]
    batches: int
    flagged_left_out: int
    flagged_pushed: int
    why: dict


@operation("review.push", params=PushParams, result=PushResult, kind="job", role="steward", method="POST",
           path="/review/push", cli=("review", "push"))
def push(ctx: Context, p: PushParams) -> dict:
    """Send candidates that passed dedup to Label Studio as tasks; a re-push never duplicates one."""
    from annotation.push import push as push_tasks
    from annotation.selection import Selection, check_where
    from curator.synth.synthesize import output_findings

    if p.where is not None:  # a refused predicate fails before Label Studio is contacted
        check_where(ctx.conn, p.where)
    selection = Selection(limit=p.limit, sources=p.source, kinds=p.kind, order=p.order, seed=p.seed,
                          include_flagged=p.include_flagged, where=p.where, where_timeout_s=ctx.settings.sql_timeout_s)
    with label_studio(ctx.settings) as client:
        return push_tasks(ctx.conn, client, ctx.actor, selection, overlap=p.overlap, pii_scan=output_findings,
                          progress=lambda done, total: ctx.progress(done, total, "tasks", "push")).summary()


class PullResult(Result):
    annotations_seen: int
    recorded: int
    deleted: int


@operation("review.pull", params=NoParams, result=PullResult, kind="job", role="steward", method="POST",
           path="/review/pull", cli=("review", "pull"))
def pull(ctx: Context, _p: NoParams) -> dict:
    """Reconcile with Label Studio's export: record missed, changed and deleted annotations."""
    from annotation.pull import pull as pull_reviews

    with label_studio(ctx.settings) as client:
        return pull_reviews(ctx.conn, client, ctx.actor, ctx.settings.review_min_edit_similarity).summary()


class StatusParams(Params):
    examples: bool = Field(False, description="agreement per example too")


class StatusResult(Result):
    queue: dict
    throughput: list[dict]
    agreement: dict
    webhook_inbox: dict = Field(description="webhook deliveries pending and set aside (`review inbox` lists them)")


@operation("review.status", params=StatusParams, result=StatusResult, kind="read", role="reviewer", method="GET",
           path="/review/status", cli=("review", "status"))
def status(ctx: Context, p: StatusParams) -> dict:
    """Queue sizes, throughput per reviewer, agreement (Krippendorff's alpha), rejection reasons."""
    from annotation.status import review_status

    from .inbox import counts

    return review_status(ctx.conn, examples=p.examples) | {"webhook_inbox": counts(ctx)}
