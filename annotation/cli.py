"""``curator review …``: setup, push, pull, status (registered in curator/cli.py)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from curator.audit import cli_actor
from curator.cli import JsonOpt, _emit_json, err, friendly, out
from curator.cli import app as _base_app
from curator.config import get_settings
from curator.store import open_store

review_app = typer.Typer(help="Expert review in Label Studio: setup, push, pull, status.", no_args_is_help=True)


def _client():
    from .client import LabelStudio

    settings = get_settings()
    return LabelStudio(settings.label_studio_url, settings.label_studio_token.get_secret_value())


@review_app.command("setup")
@friendly
def setup(as_json: JsonOpt = False):
    """Create or update the review and adjudication projects and their webhooks (idempotent)."""
    from .setup import setup_projects

    settings = get_settings()
    with _client() as client:
        report = setup_projects(open_store(settings.db), client, settings, cli_actor())
    if as_json:
        _emit_json(report)
        return
    for role, p in report.items():
        out.print(f"{role}: project {p['ls_project_id']} {p['title']!r} {p['action']}, webhook {p['webhook_id']} "
                  f"-> {settings.webhook_url}; {p['url']}", highlight=False)


@review_app.command("push")
@friendly
def push(limit: Annotated[Optional[int], typer.Option(help="push at most N candidates (by id)")] = None,
         overlap: Annotated[Optional[int], typer.Option(help="independent reviews wanted per task "
                                                               "(default: the project's current overlap, 1 at first)")] = None,
         as_json: JsonOpt = False):
    """Send candidates that passed dedup to Label Studio as tasks; a re-push never duplicates one."""
    from .push import push as push_tasks

    settings = get_settings()
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, disable=as_json or not err.is_terminal) as progress:
        bar = progress.add_task("push", total=None)
        with _client() as client:
            report = push_tasks(open_store(settings.db), client, cli_actor(), limit=limit, overlap=overlap,
                                progress=lambda done, total: progress.update(bar, completed=done, total=total))
    if as_json:
        _emit_json(report.summary())
        return
    out.print(f"pushed {report.pushed} tasks to project {report.project} (overlap {report.overlap}) in "
              f"{report.batches} batches; adopted {report.adopted} earlier tasks; skipped {len(report.skipped)}",
              highlight=False)
    for s in report.skipped[:10]:
        out.print(f"  skipped example {s['example_id']}: {s['reason']}", highlight=False)


@review_app.command("pull")
@friendly
def pull(as_json: JsonOpt = False):
    """Reconcile with Label Studio's export: record missed, changed and deleted annotations."""
    from .pull import pull as pull_reviews

    settings = get_settings()
    with _client() as client:
        report = pull_reviews(open_store(settings.db), client, cli_actor(), settings.review_min_edit_similarity)
    if as_json:
        _emit_json(report.summary())
        return
    out.print(f"{report.annotations_seen} annotations in Label Studio: {report.recorded} new or changed, "
              f"{report.deleted} deleted; outcomes {report.outcomes}; {report.adjudication_tasks} sent to "
              "adjudication", highlight=False)


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


@review_app.command("status")
@friendly
def status(examples: Annotated[bool, typer.Option(help="agreement per example too")] = False,
           as_json: JsonOpt = False):
    """Queue sizes, throughput per reviewer, agreement (Krippendorff's alpha), rejection reasons."""
    from .status import review_status

    data = review_status(open_store(get_settings().db), examples=examples)
    if as_json:
        _emit_json(data)
        return
    queue = Table(*data["queue"].keys(), title="queue")
    queue.add_row(*(str(v) for v in data["queue"].values()))
    out.print(queue)
    people = Table("reviewer", "project", "reviews", "accept", "edit", "reject", "median s", "per hour",
                   title="throughput")
    for t in data["throughput"]:
        people.add_row(t["reviewer"], t["project"], str(t["reviews"]), str(t["accepted"]), str(t["edited"]),
                       str(t["rejected"]), _fmt(t["median_seconds"], 1), _fmt(t["per_hour"], 1))
    out.print(people)
    a = data["agreement"]
    out.print(f"agreement over {a['units']} examples with 2+ reviews: alpha verdict {_fmt(a['alpha_verdict'])}, "
              f"correctness {_fmt(a['alpha_correctness'])}, style {_fmt(a['alpha_style'])}, response similarity "
              f"{_fmt(a['mean_response_similarity'])}; {a['disagreements']} disagreements", highlight=False)
    if a["pairs"]:
        pairs = Table("reviewers", "shared", "% agree", "alpha verdict", "similarity", title="reviewer pairs")
        for p in a["pairs"]:
            pairs.add_row(" / ".join(p["reviewers"]), str(p["shared"]), _fmt(p["percent_agreement"]),
                          _fmt(p["alpha_verdict"]), _fmt(p["mean_response_similarity"]))
        out.print(pairs)
    if data["rejection_reasons"]:
        reasons = Table("reason", "reviews", title="rejection reasons")
        for reason, n in data["rejection_reasons"].items():
            reasons.add_row(reason, str(n))
        out.print(reasons)


def register(app: typer.Typer) -> None:
    if not any(group.name == "review" for group in app.registered_groups):
        app.add_typer(review_app, name="review")


register(_base_app)
