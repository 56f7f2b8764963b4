"""``curator stats`` and ``curator sql``: the stewards' numbers and read-only queries in a terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .dispatch import run
from .output import JsonOpt, err, fail, friendly_errors, out, table


def _print_overview(data: dict) -> None:
    out.print(table("store", ("sources", "files", "documents", "examples", "rejects", "duplicates skipped"),
                    [data["totals"].values()]))
    out.print(table("by source", ("source", "files", "documents", "examples", "rejects"),
                    [r.values() for r in data["by_source"]]))
    out.print(table("documents", ("kind", "documents"), data["documents_by_kind"].items()))
    out.print(table("examples", ("kind", "status", "examples"),
                    [(r["kind"], r["status"], r["n"]) for r in data["examples_by_kind_status"]]))
    if data["near_duplicates"]:
        out.print(table("near-duplicates", ("target", "latest run", "parameters", "clusters", "marked duplicate"),
                        [(r["target"], r["run_id"], r["params_key"], r["clusters"], r["marked_duplicate"])
                         for r in data["near_duplicates"]]))


def _print_classes(classes: dict) -> None:
    """Examples per class and split (stratified versions), then the under-share warnings."""
    out.print(table(f"classes (off the requested split shares by at most {classes['max_gap_points']} points)",
                    ("class", "examples", "share", "train", "validation", "test"),
                    [(c, v["examples"], f"{v['share']:.1%}",
                      *(f"{v['splits'][s]} ({v['achieved'][s]:.1%})" for s in ("train", "validation", "test")))
                     for c, v in classes["classes"].items()]))
    for w in classes["warnings"]:
        out.print(f"warning: {w}", highlight=False, markup=False)


def _print_report(rep: dict) -> None:
    counts = rep["counts"]
    third = ("split", counts["by_split"]) if "by_split" in counts else ("status", counts["by_status"])
    for what, data in (("source", counts["by_source"]), ("kind", counts["by_kind"]), third):
        out.print(table(f"{rep.get('version', 'store')}: examples by {what}", (what, "examples"), data.items()))
    if counts.get("by_source_status"):
        out.print(table("progress by source", ("source", "candidate", "in review", "approved", "rejected", "examples"),
                        [r.values() for r in counts["by_source_status"]]))
    ln = rep["lengths"]
    out.print(table(f"lengths in {ln['unit']}: {ln['over_max_seq_len']} of {ln['examples']} examples over "
                    f"{ln['max_seq_len']}", ("role", "p50", "p90", "p99", "max", "histogram"),
                    [(role, s["p50"], s["p90"], s["p99"], s["max"],
                      " ".join(f"{b['bin']}:{b['n']}" for b in s["histogram"]))
                     for role, s in ln["roles"].items()]))
    out.print(table("generation cost", tuple(rep["generation"]), [rep["generation"].values()]))
    if rep.get("classes"):
        _print_classes(rep["classes"])
    if rep["scope"] != "store":
        return
    out.print(table("funnel", tuple(rep["funnel"]), [rep["funnel"].values()]))
    qa = rep.get("quality")
    if qa and qa["checked"]:
        out.print(table(f"quality filters: {qa['checked']} checked, {qa['flagged']} flagged, {qa['kept']} kept",
                        ("rule", "examples flagged"), qa["by_rule"].items()))
    rej = rep["rejections"]
    out.print(table("rejections", ("from", "reason", "n"),
                    [("review", k, n) for k, n in rej["review"].items()] +
                    [("ingest", k, n) for k, n in rej["ingest"].items()]))
    rv = rep["reviews"]
    out.print(table(f"reviewers (agreement {rv['agreement']['verdict']} on {rv['agreement']['pairs']} pairs)",
                    ("reviewer", "reviews", "accepted", "edited", "rejected", "skipped", "per active day", "median s"),
                    [(r["reviewer"], r["reviews"], r["accepted"], r["edited"], r["rejected"], r["skipped"],
                      r["reviews_per_active_day"], r["median_seconds"]) for r in rv["reviewers"]]))
    out.print(table("duplicates removed", tuple(rep["duplicates"]), [rep["duplicates"].values()]))
    out.print(table("versions", ("version", "status", "counts", "created", "approved by"),
                    [(f"{v['name']}@{v['number']}", v["status"], v["counts"], v["created_at"], v["approved_by"])
                     for v in rep["versions"]]))


def stats(version: Annotated[Optional[str], typer.Option(help="NAME@N: one version's stats")] = None,
          tokenizer: Annotated[Optional[str], typer.Option(
              help="local tokenizer.json or model directory for token lengths (default $CURATOR_STATS_TOKENIZER; "
                   "unset: characters; through a service, the service's setting)")] = None,
          max_seq_len: Annotated[Optional[int], typer.Option(help="count examples longer than this")] = None,
          as_json: JsonOpt = False):
    """Counts by source, kind, status and split; lengths by role; funnel; rejections; reviewers; duplicates; cost."""

    def render(data: dict) -> None:
        if not version:
            _print_overview(data)
        _print_report(data)

    with friendly_errors():
        run("stats", {"version": version, "tokenizer": tokenizer, "max_seq_len": max_seq_len}, as_json, render)


SQL_FORMATS = ("table", "csv", "json", "parquet")


def sql(sql: Annotated[str, typer.Argument(help="one SELECT statement")],
        max_rows: Annotated[Optional[int], typer.Option(min=1, help="at most this many rows")] = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv, json (records) or parquet "
                                                          "(through pandas; parquet needs --output)")] = "table",
        output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the rows to this file")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of a table")] = False):
    """Run one read-only SELECT on the store (the same checks as POST /sql)."""
    if fmt not in SQL_FORMATS:
        fail(f"--format must be one of {', '.join(SQL_FORMATS)}, got {fmt!r}")
    if fmt == "parquet" and output is None:
        fail("--format parquet writes a binary file: give it with --output FILE.parquet")

    def render(result: dict) -> None:
        if fmt == "table":
            out.print(table(f"{len(result['rows'])} rows" + (" (truncated)" if result["truncated"] else ""),
                            tuple(result["columns"]), result["rows"]))
            if result.get("truncated_by") not in (None, "rows"):
                err.print(truncation(result), highlight=False, markup=False)
            return
        write_frame(result, fmt, output)

    with friendly_errors():
        run("sql", {"sql": sql, "max_rows": max_rows}, as_json, render)


def write_frame(result: dict, fmt: str, output: Path | None) -> None:
    """The rows as a pandas DataFrame written as csv/json/parquet (a file, or stdout for text)."""
    import pandas as pd

    frame = pd.DataFrame(result["rows"], columns=result["columns"])
    if fmt == "parquet":
        frame.to_parquet(output, index=False)
    elif fmt == "csv":
        text = frame.to_csv(index=False)
    else:
        text = frame.to_json(orient="records", date_format="iso") + "\n"
    if fmt != "parquet":
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
    if result["truncated"]:
        err.print(truncation(result), highlight=False, markup=False)


def truncation(result: dict) -> str:
    """Why the rows stopped early, in one line (``truncated_by``: rows, bytes, time or error)."""
    why = result.get("truncated_by", "rows")
    if why == "rows":
        return f"truncated at {result['max_rows']} rows (--max-rows, CURATOR_SQL_MAX_ROWS)"
    if why == "bytes":
        return f"truncated after {result['row_count']} rows: the answer reached CURATOR_SQL_MAX_BYTES"
    return f"truncated after {result['row_count']} rows: {result.get('error') or why}"
