"""``curator triage filter|rules``: quality filters before review."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .dispatch import run
from .output import JsonOpt, friendly_errors, out, table

triage_app = typer.Typer(help="Triage before review: quality filters with reasons.", no_args_is_help=True)


@triage_app.command("filter")
def filter_examples(
        rules: Annotated[Optional[list[str]], typer.Option("--rule", help="run only this rule (repeatable)")] = None,
        skip: Annotated[Optional[list[str]], typer.Option(help="do not run this rule (repeatable)")] = None,
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
