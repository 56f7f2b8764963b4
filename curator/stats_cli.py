"""`curator stats` and `curator sql`: the stewards' numbers and read-only queries in a terminal."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from . import lengths, readonly_sql
from . import stats as stats_lib
from .config import get_settings
from .store import connect, open_store


def _cli():
    from . import cli  # the shared console, --json printer and error wrapper

    return cli


def _table(title: str, head: tuple[str, ...], rows) -> Table:
    table = Table(*head, title=title)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _print_overview(out, data: dict) -> None:
    out.print(_table("store", ("sources", "files", "documents", "examples", "rejects", "duplicates skipped"),
                     [data["totals"].values()]))
    out.print(_table("by source", ("source", "files", "documents", "examples", "rejects"),
                     [r.values() for r in data["by_source"]]))
    out.print(_table("documents", ("kind", "documents"), data["documents_by_kind"].items()))
    out.print(_table("examples", ("kind", "status", "examples"),
                     [(r["kind"], r["status"], r["n"]) for r in data["examples_by_kind_status"]]))
    if data["near_duplicates"]:
        out.print(_table("near-duplicates", ("target", "latest run", "parameters", "clusters", "marked duplicate"),
                         [(r["target"], r["run_id"], r["params_key"], r["clusters"], r["marked_duplicate"])
                          for r in data["near_duplicates"]]))


def _print_report(out, rep: dict) -> None:
    counts = rep["counts"]
    third = ("split", counts["by_split"]) if "by_split" in counts else ("status", counts["by_status"])
    for what, data in (("source", counts["by_source"]), ("kind", counts["by_kind"]), third):
        out.print(_table(f"{rep.get('version', 'store')}: examples by {what}", (what, "examples"), data.items()))
    ln = rep["lengths"]
    out.print(_table(f"lengths in {ln['unit']}: {ln['over_max_seq_len']} of {ln['examples']} examples over "
                     f"{ln['max_seq_len']}", ("role", "p50", "p90", "p99", "max", "histogram"),
                     [(role, s["p50"], s["p90"], s["p99"], s["max"],
                       " ".join(f"{b['bin']}:{b['n']}" for b in s["histogram"]))
                      for role, s in ln["roles"].items()]))
    out.print(_table("generation cost", tuple(rep["generation"]), [rep["generation"].values()]))
    if rep["scope"] != "store":
        return
    out.print(_table("funnel", tuple(rep["funnel"]), [rep["funnel"].values()]))
    rej = rep["rejections"]
    out.print(_table("rejections", ("from", "reason", "n"),
                     [("review", k, n) for k, n in rej["review"].items()] +
                     [("ingest", k, n) for k, n in rej["ingest"].items()]))
    rv = rep["reviews"]
    out.print(_table(f"reviewers (agreement {rv['agreement']['verdict']} on {rv['agreement']['pairs']} pairs)",
                     ("reviewer", "reviews", "accepted", "edited", "rejected", "per active day", "median s"),
                     [(r["reviewer"], r["reviews"], r["accepted"], r["edited"], r["rejected"],
                       r["reviews_per_active_day"], r["median_seconds"]) for r in rv["reviewers"]]))
    out.print(_table("duplicates removed", tuple(rep["duplicates"]), [rep["duplicates"].values()]))
    out.print(_table("versions", ("version", "status", "counts", "created", "approved by"),
                     [(f"{v['name']}@{v['number']}", v["status"], v["counts"], v["created_at"], v["approved_by"])
                      for v in rep["versions"]]))


def stats(version: Annotated[Optional[str], typer.Option(help="NAME@N: one version's stats")] = None,
          tokenizer: Annotated[Optional[str], typer.Option(
              help="local tokenizer.json or model directory for token lengths (default $CURATOR_STATS_TOKENIZER; "
                   "unset: characters)")] = None,
          max_seq_len: Annotated[Optional[int], typer.Option(help="count examples longer than this")] = None,
          as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")] = False):
    """Counts by source, kind, status and split; lengths by role; funnel; rejections; reviewers; duplicates; cost."""
    cli = _cli()
    with cli.friendly_errors():
        settings = get_settings()
        conn = open_store(settings.db)
        ctr = lengths.counter(tokenizer or settings.stats_tokenizer)
        todo = lengths.missing_examples(conn, ctr) if ctr.count is not None and settings.stats_cache else 0
        if todo:  # tokenizing is the slow part: fill the cache first, with a bar
            with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), console=cli.err, disable=as_json or not cli.err.is_terminal) as bar:
                task = bar.add_task(f"lengths in {ctr.label}", total=todo)
                lengths.refresh_examples(conn, ctr, lambda done: bar.update(task, completed=done))
        rep = stats_lib.report(conn, version, tokenizer or settings.stats_tokenizer,
                               max_seq_len or settings.max_seq_len, settings.stats_cache)
        data = rep if version else stats_lib.cached_overview(conn, settings.stats_cache) | rep
        if as_json:
            cli._emit_json(data)
            return
        if not version:
            _print_overview(cli.out, data)
        _print_report(cli.out, rep)


def sql(query: Annotated[str, typer.Argument(help="one SELECT statement")],
        max_rows: Annotated[Optional[int], typer.Option(min=1, help="at most this many rows")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of a table")] = False):
    """Run one read-only SELECT on the store (the same checks as POST /sql)."""
    cli = _cli()
    with cli.friendly_errors():
        settings = get_settings()
        conn = connect(settings.db, read_only=True)
        cap = min(max_rows or settings.sql_max_rows, settings.sql_max_rows)
        result = readonly_sql.run(conn.cursor(), query, cap, settings.sql_timeout_s)
        if as_json:
            cli._emit_json(result.as_dict())
            return
        cli.out.print(_table(f"{len(result.rows)} rows" + (" (truncated)" if result.truncated else ""),
                             tuple(result.columns), result.rows))
