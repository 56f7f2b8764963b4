"""``curator triage filter|rules``: quality filters before review."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..quality.config import RULES
from .dispatch import run
from .output import JsonOpt, friendly_errors, out, table

triage_app = typer.Typer(help="Triage before review: quality filters with reasons.", no_args_is_help=True)


@triage_app.command("filter")
def filter_examples(
        rules: Annotated[Optional[list[str]], typer.Option("--rule", help=f"run only this rule (repeatable): {'|'.join(RULES)}")] = None,
        skip: Annotated[Optional[list[str]], typer.Option(help=f"do not run this rule (repeatable): {'|'.join(RULES)}")] = None,
        languages: Annotated[Optional[list[str]], typer.Option("--language", help="allowed response language "
                                                                "(repeatable; default en)")] = None,
        min_response_chars: Annotated[int, typer.Option(help="letters/digits below which a response is empty")] = 3,
        min_assistant_tokens: Annotated[Optional[int], typer.Option(help="shortest response (stats tokenizer "
                                                                          "units)")] = 2,
        max_assistant_tokens: Annotated[Optional[int], typer.Option(help="longest response")] = 4096,
        max_user_tokens: Annotated[Optional[int], typer.Option(help="longest prompt")] = 16384,
        pii_max_findings: Annotated[int, typer.Option(help="PII findings allowed in a response")] = 0,
        tokenizer: Annotated[Optional[str], typer.Option(help="local tokenizer for lengths (default: "
                                                                "$CURATOR_STATS_TOKENIZER; unset: characters)")] = None,
        as_json: JsonOpt = False):
    """Flag candidates with the quality rules (kept or a reason per rule); review push leaves flagged ones out."""

    def render(r: dict) -> None:
        out.print(f"quality run {r['run_id']} ({r['config_hash']}): {r['examples']} examples checked, "
                  f"{r['flagged']} flagged, {r['kept']} kept", highlight=False)
        out.print(table("flagged by rule (an example may carry several flags)", ("rule", "examples", "e.g."),
                        [(rule, n, "; ".join(f"#{s['example_id']} {s['reason']}" for s in
                                             r.get("samples", {}).get(rule, [])[:1]))
                         for rule, n in r["by_rule"].items()]))

    params = {"rules": rules or None, "skip": skip or [], "min_response_chars": min_response_chars,
              "min_assistant_tokens": min_assistant_tokens, "max_assistant_tokens": max_assistant_tokens,
              "max_user_tokens": max_user_tokens, "pii_max_findings": pii_max_findings, "tokenizer": tokenizer}
    if languages:
        params["languages"] = languages
    with friendly_errors():
        run("triage.filter", params, as_json, render)


@triage_app.command("rules")
def rules(as_json: JsonOpt = False):
    """The quality rules and what each flags."""
    with friendly_errors():
        run("triage.rules", {}, as_json, lambda r: out.print(table("quality rules", ("rule", "flags"), r.items())))


@triage_app.command("judge")
def judge(template: Annotated[Optional[str], typer.Option(help="judge template: bundled name (default rubric) "
                                                                 "or .json file")] = None,
          limit: Annotated[Optional[int], typer.Option(help="judge at most N candidates")] = None,
          max_cost_usd: Annotated[Optional[float], typer.Option(help="stop sending past this spend")] = None,
          as_json: JsonOpt = False):
    """Score candidates the filters kept on the review rubric with a model (cache, cost, budget, PII policy)."""

    def render(r: dict) -> None:
        out.print(f"judge {r['model']} with {r['template']} ({r['template_hash']}): {r['judged']} of {r['examples']} "
                  f"judged, {r['blocked_pii']} blocked by the PII policy, failures {r['failures'] or 'none'}; "
                  f"run {r['run_id']}, ${r['cost_usd']:.4f}", highlight=False)

    with friendly_errors():
        run("triage.judge", {"template": template, "limit": limit, "max_cost_usd": max_cost_usd}, as_json, render)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


@triage_app.command("calibrate")
def calibrate(model: Annotated[Optional[str], typer.Option(help="judge model (default: the latest judged)")] = None,
              template_hash: Annotated[Optional[str], typer.Option(help="judge template hash (default: latest)")] = None,
              target: Annotated[float, typer.Option(help="precision wanted on 'accept'")] = 0.95,
              bootstrap: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
              seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
              as_json: JsonOpt = False):
    """Judge–human agreement and the auto-accept threshold (bootstrap interval) on reviewed examples."""
    cols = ("reviewed", "human_accepted", "alpha_correctness", "alpha_style", "accuracy", "kappa", "threshold",
            "threshold_ci", "precision", "precision_lower", "auto_acceptable")

    def render(r: dict) -> None:
        rows = [("all", "all", *(_fmt(r["overall"][c]) for c in cols))]
        rows += [(g["source"], g["template"], *(_fmt(g[c]) for c in cols)) for g in r["groups"]]
        out.print(table(f"judge {r['model']} ({r['template_hash']}) against the experts, target precision "
                        f"{r['overall']['target_precision']}", ("source", "template", *cols), rows))

    with friendly_errors():
        run("triage.calibrate", {"model": model, "template_hash": template_hash, "target": target,
                                 "bootstrap": bootstrap, "seed": seed}, as_json, render)


auto_app = typer.Typer(help="Auto-accept, only when calibration earns it.", no_args_is_help=True)
triage_app.add_typer(auto_app, name="auto-accept")


@auto_app.command("enable")
def auto_enable(source: Annotated[str, typer.Option(help="source name the policy covers")],
                template: Annotated[str, typer.Option(help="example template ('(none)' for none)")],
                threshold: Annotated[float, typer.Option(help="judge p(accept) at or above which to accept")],
                target: Annotated[float, typer.Option(help="precision the lower bound must meet")] = 0.95,
                min_reviewed: Annotated[int, typer.Option(help="human-reviewed examples needed")] = 200,
                audit_share: Annotated[float, typer.Option(help="share still sent to humans")] = 0.05,
                bootstrap: Annotated[int, typer.Option(help="bootstrap resamples")] = 1000,
                seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
                as_json: JsonOpt = False):
    """Grant auto-accept for a source and template, only if calibration earns it; refused with the numbers."""
    with friendly_errors():
        run("triage.auto_accept.enable", {"source": source, "template": template, "threshold": threshold,
                                          "target": target, "min_reviewed": min_reviewed, "audit_share": audit_share,
                                          "bootstrap": bootstrap, "seed": seed}, as_json,
            lambda r: out.print(f"auto-accept policy {r['policy_id']} granted: {r['granted']}", highlight=False))


@auto_app.command("run")
def auto_run(as_json: JsonOpt = False):
    """Apply enabled policies: check each audit (off below target), accept new candidates, draw the audit sample."""

    def render(r: dict) -> None:
        for p in r["policies"]:
            state = f"switched off: {p['disabled']}" if p["disabled"] else (
                f"{p['auto_accepted']} auto-accepted, {p['audit_sample']} sent to humans as audit")
            out.print(f"policy {p['policy_id']} ({p['source']}/{p['template']}): {state}; audit so far "
                      f"{p['audit_accepted']}/{p['audit_reviewed']} accepted", highlight=False)

    with friendly_errors():
        run("triage.auto_accept.run", {}, as_json, render)


@auto_app.command("status")
def auto_status(as_json: JsonOpt = False):
    """Auto-accept policies, enabled or switched off, with their audit's agreement over time."""
    cols = ("id", "source", "template", "threshold", "target", "reviewed", "precision_lower", "enabled",
            "audit_reviewed", "audit_precision", "disabled_reason")
    with friendly_errors():
        run("triage.auto_accept.status", {}, as_json,
            lambda r: out.print(table("auto-accept policies", cols, [[_fmt(p[c]) for c in cols] for p in r])))
