"""``curator review setup|push|pull|status|inbox``: expert review in Label Studio, and the webhook inbox."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from .dispatch import run
from .output import JsonOpt, friendly_errors, out

review_app = typer.Typer(help="Expert review in Label Studio: setup, push, pull, status, the webhook inbox.", no_args_is_help=True)


@review_app.command("setup")
def setup(as_json: JsonOpt = False):
    """Create or update the review and adjudication projects and their webhooks (idempotent)."""

    def render(report: dict) -> None:
        for role, p in report.items():
            out.print(f"{role}: project {p['ls_project_id']} {p['title']!r} {p['action']}, webhook {p['webhook_id']} "
                      f"-> {p['webhook_url']}; {p['url']}", highlight=False)

    with friendly_errors():
        run("review.setup", {}, as_json, render)


@review_app.command("push")
def push(limit: Annotated[Optional[int], typer.Option(help="push at most N candidates (in --order)")] = None,
         overlap: Annotated[Optional[int], typer.Option(help="independent reviews wanted per task "
                                                               "(default: the project's current overlap, 1 at first)")] = None,
         source: Annotated[Optional[list[str]], typer.Option(help="only candidates of this source name "
                                                                  "(repeatable)")] = None,
         kind: Annotated[Optional[list[str]], typer.Option(help="only this example kind: extracted, synthetic, "
                                                                "imported (repeatable)")] = None,
         order: Annotated[str, typer.Option(help="which candidates come first: id, newest, random, uncertainty "
                                                 "(judge-uncertain first), coverage (least-reviewed source/class/"
                                                 "length first)")] = "id",
         seed: Annotated[int, typer.Option(help="seed of --order random")] = 0,
         include_flagged: Annotated[bool, typer.Option(help="push examples the quality filters flagged too "
                                                            "(the reviewer sees the flags)")] = False,
         where: Annotated[Optional[str], typer.Option(help="only candidates this SQL boolean expression over the "
                                                           "columns of examples selects, e.g. \"kind = 'extracted' "
                                                           "AND id > 100\" (read-only, no other table)")] = None,
         as_json: JsonOpt = False):
    """Send candidates that passed dedup to Label Studio as tasks; a re-push never duplicates one."""

    def render(r: dict) -> None:
        out.print(f"pushed {r['pushed']} tasks to project {r['ls_project_id']} (overlap {r['overlap']}) in "
                  f"{r['batches']} batches; adopted {r['adopted']} earlier tasks; skipped {len(r['skipped'])}; "
                  f"PII-scanned {r['pii_scanned']} examples never scanned before", highlight=False)
        out.print(f"quality flags: {r['flagged_left_out']} flagged candidates left out, {r['flagged_pushed']} "
                  "flagged pushed (with their flags shown)", highlight=False)
        out.print(f"order: {r['why']}", highlight=False)
        for s in r["skipped"][:10]:
            out.print(f"  skipped example {s['example_id']}: {s['reason']}", highlight=False)

    with friendly_errors():
        run("review.push", {"limit": limit, "overlap": overlap, "source": source, "kind": kind, "order": order,
                            "seed": seed, "include_flagged": include_flagged, "where": where}, as_json, render)


@review_app.command("pull")
def pull(as_json: JsonOpt = False):
    """Reconcile with Label Studio's export: record missed, changed and deleted annotations."""

    def render(r: dict) -> None:
        out.print(f"{r['annotations_seen']} annotations in Label Studio: {r['recorded']} new or changed, "
                  f"{r['deleted']} deleted; outcomes {r['outcomes']}; {r['adjudication_tasks']} sent to "
                  "adjudication", highlight=False)

    with friendly_errors():
        run("review.pull", {}, as_json, render)


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _render_status(data: dict) -> None:
    # One row per state: eight counts side by side cut their headers at 80 columns into
    # look-alikes ("awaiti…", "awaiti…").
    queue = Table("state", "examples", title="queue")
    for state, n in data["queue"].items():
        queue.add_row(state.replace("_", " "), str(n))
    out.print(queue)
    # Counted by outcome (an accept whose text changed is an edit); reviews are accept + edit + reject,
    # a column left out so that the skips fit in 80 columns.
    people = Table("reviewer", "project", "accept", "edit", "reject", "skip", "median s", "per hour",
                   title="throughput by outcome")
    for t in data["throughput"]:
        people.add_row(t["reviewer"], t["project"], str(t["accepted"]), str(t["edited"]), str(t["rejected"]),
                       str(t["skipped"]), _fmt(t["median_seconds"], 1), _fmt(t["per_hour"], 1))
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
    box = data.get("webhook_inbox") or {}
    if box.get("pending") or box.get("set_aside"):
        out.print(f"webhook inbox: {box['pending']} pending, {box['set_aside']} set aside"
                  + (" (see `curator review inbox`)" if box["set_aside"] else ""), highlight=False)


@review_app.command("status")
def status(examples: Annotated[bool, typer.Option(help="agreement per example too")] = False,
           as_json: JsonOpt = False):
    """Queue sizes, throughput per reviewer, agreement (Krippendorff's alpha), rejection reasons."""
    with friendly_errors():
        run("review.status", {"examples": examples}, as_json, _render_status)


@review_app.command("inbox")
def inbox(as_json: JsonOpt = False):
    """Webhook deliveries waiting to be applied, and those set aside with their reasons."""

    def render(r: dict) -> None:
        out.print(f"{r['pending']} deliveries pending, {len(r['set_aside'])} set aside", highlight=False)
        for d in r["set_aside"]:
            out.print(f"  {d['name']}: {d['action']} annotations {d['annotations']} task {d['task']}, "
                      f"{d['tries']} tries: {d['reason']}", highlight=False, markup=False)

    with friendly_errors():
        run("review.inbox", {}, as_json, render)


def _handled(r: dict) -> None:
    out.print(f"delivery {r['name']} {r['done']} ({r['action']}, annotations {r['annotations']})", highlight=False,
              markup=False)


@review_app.command("retry-delivery")
def retry_delivery(name: Annotated[str, typer.Argument(help="the delivery's name, as `review inbox` lists it")],
                   as_json: JsonOpt = False):
    """Put a set-aside webhook delivery back in the inbox; it is applied (or set aside again) next."""
    with friendly_errors():
        run("review.inbox.retry", {"name": name}, as_json, _handled)


@review_app.command("drop-delivery")
def drop_delivery(name: Annotated[str, typer.Argument(help="the delivery's name, as `review inbox` lists it")],
                  as_json: JsonOpt = False):
    """Delete a set-aside webhook delivery for good (its audit row keeps what it was and its SHA-256)."""
    with friendly_errors():
        run("review.inbox.drop", {"name": name}, as_json, _handled)
