"""The ``curator`` command: a thin layer over the library. Library errors become one line
with a hint and exit code 1; ``--json`` prints one machine-readable object."""

from __future__ import annotations

import functools
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from . import keys as keys_lib
from . import stats_cli
from .audit import cli_actor
from .config import get_settings
from .errors import CuratorError
from .ingest import FORMATS, IngestOptions, ingest_paths
from .store import open_store

app = typer.Typer(help="Curate reviewed, versioned fine-tuning datasets.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
keys_app = typer.Typer(help="API keys (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")]


def _emit_json(obj) -> None:
    sys.stdout.write(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


@contextmanager
def friendly_errors():
    """Turn library errors inside the block into one line and exit code 1 (``friendly`` wraps a
    command in it; commands defined in other modules use it directly)."""
    try:
        yield
    except ValidationError as exc:  # a settings or parameter object refused a value
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']} (got {e.get('input')!r})"
                             for e in exc.errors())
        err.print(f"[red]error:[/red] {escape(problems)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except (CuratorError, ValueError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def friendly(fn):
    """Turn library errors into one line and exit code 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with friendly_errors():
            return fn(*args, **kwargs)

    return wrapper


@app.callback()
def main(db: Annotated[Optional[Path], typer.Option(help="store file (default $CURATOR_DB or ./curator.duckdb)")] = None):
    if db is not None:
        import os

        os.environ["CURATOR_DB"] = str(db)
        get_settings.cache_clear()


@app.command()
@friendly
def init(as_json: JsonOpt = False):
    """Create the store, or migrate it to the current schema (a no-op when up to date)."""
    from .store import connect, migrate

    settings = get_settings()
    conn = connect(settings.db)
    applied = migrate(conn)
    if as_json:
        _emit_json({"db": str(settings.db), "applied": applied})
    else:
        out.print(f"{settings.db}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))


def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    result = {}
    for pair in pairs:
        if "=" not in pair:
            raise CuratorError(f"{what} expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        result[key.strip()] = value.strip()
    return result


@app.command()
@friendly
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or directories (recursive)")],
    source: Annotated[Optional[str], typer.Option(help="source name (default: each PATH's name)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="|".join(FORMATS))] = "auto",
    field: Annotated[list[str], typer.Option("--field", help="ROLE=NAME column/key mapping, e.g. text=body")] = [],
    speaker: Annotated[list[str], typer.Option("--speaker", help="SPEAKER=ROLE, e.g. agent=assistant")] = [],
    exclude: Annotated[list[str], typer.Option(help="glob of files to leave out, e.g. '*_metadata.csv'")] = [],
    max_record_bytes: Annotated[Optional[int], typer.Option(help="reject larger records")] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="one line per committed file")] = False,
    as_json: JsonOpt = False,
):
    """Ingest documents, transcripts and existing fine-tuning sets; one transaction per file."""
    settings = get_settings()
    roles = {**settings.speaker_roles, **{k.lower(): v for k, v in _parse_pairs(speaker, "--speaker").items()}}
    opts = IngestOptions(format="auto" if fmt == "csv" else fmt, fields=_parse_pairs(field, "--field"),
                         speaker_roles=roles, max_record_bytes=max_record_bytes or settings.max_record_bytes)
    conn = open_store(settings.db)
    show_bar = not as_json and err.is_terminal
    progress = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                        TransferSpeedColumn(), TimeRemainingColumn(), console=err, disable=not show_bar)

    def on_file(path: str, counts: dict) -> None:
        if verbose:
            err.print(f"committed {path} {counts}", highlight=False)

    with progress:
        bar = progress.add_task("ingest", total=None)
        report = ingest_paths(
            conn, paths, opts=opts, actor=cli_actor(), source=source, exclude=exclude, workers=settings.workers,
            parallel_min_bytes=settings.parallel_min_bytes, chunk_bytes=settings.chunk_bytes,
            progress=lambda _phase, done, total: progress.update(bar, completed=done, total=total),
            file_done=on_file)
    if as_json:
        _emit_json(report.summary())
        return
    out.print(f"batch {report.batch_id}: {report.files} files ({report.files_skipped} already ingested, "
              f"{len(report.file_copies)} byte-identical copies recorded), "
              f"{report.documents_added} documents, {report.examples_added} examples, "
              f"{report.duplicates_skipped} exact duplicates skipped, {len(report.rejected)} rejected")
    for r in report.rejected[:20]:
        out.print(f"  rejected {r['origin']}: {r['code']}: {r['reason']}", highlight=False, markup=False)
    if len(report.rejected) > 20:
        out.print(f"  … {len(report.rejected) - 20} more (see `curator stats` or the rejects table)")


app.command()(stats_cli.stats)
app.command()(stats_cli.sql)


dedup_app = typer.Typer(help="Near-duplicates: MinHash LSH, exact verification, clusters, decisions.",
                        invoke_without_command=True)
app.add_typer(dedup_app, name="dedup")
TARGET_NAMES = ("documents", "examples")


def _row_ref(ref: str, target: str) -> tuple[str, int]:
    """``document:12``, ``example:12`` or ``12`` with ``--target``."""
    kind, _, num = ref.rpartition(":")
    if kind:
        target = {"document": "documents", "example": "examples"}.get(kind, kind)
    if target not in TARGET_NAMES or not num.isdigit():
        raise CuratorError(f"expected ID as document:N, example:N or N with --target, got {ref!r}")
    return target, int(num)


@dedup_app.callback()
@friendly
def dedup(ctx: typer.Context,
          target: Annotated[str, typer.Option(help="documents|examples|all")] = "all",
          threshold: Annotated[float, typer.Option(help="Jaccard at or above which rows are near-duplicates")] = 0.8,
          num_perm: Annotated[int, typer.Option(help="MinHash permutations")] = 128,
          ngram: Annotated[int, typer.Option(help="shingle size (words, or characters with --shingle char)")] = 5,
          shingle: Annotated[str, typer.Option(help="word|char")] = "word",
          seed: Annotated[int, typer.Option(help="permutation seed")] = 1,
          engine: Annotated[str, typer.Option(help="local|ray")] = "local",
          as_json: JsonOpt = False):
    """Find near-duplicates of documents and examples; each cluster member gets a decision."""
    if ctx.invoked_subcommand is not None:
        return
    from .dedup import DedupParams, run_dedup

    settings = get_settings()
    params = DedupParams(threshold=threshold, num_perm=num_perm, ngram=ngram, shingle=shingle, seed=seed)
    targets = TARGET_NAMES if target == "all" else (target,)
    conn = open_store(settings.db)
    reports = []
    with Progress("[progress.description]{task.description}", BarColumn(), "{task.completed} rows",
                  console=err, disable=as_json or not err.is_terminal) as progress:
        for name in targets:
            bar = progress.add_task(f"dedup {name}", total=None)
            reports.append(run_dedup(conn, name, params, actor=cli_actor(), engine=engine,
                                     ray_address=settings.ray_address,
                                     progress=lambda _stage, done: progress.update(bar, completed=done)))
    if as_json:
        _emit_json([r.as_dict() for r in reports] if target == "all" else reports[0].as_dict())
        return
    table = Table("target", "rows", "hashed", "candidates", "verified", "≥ thr.", "clusters", "duplicates",
                  title=f"dedup {params.key}, threshold {threshold}, {reports[0].bands} bands × {reports[0].rows} rows")
    for r in reports:
        table.add_row(r.target, str(r.rows_total), str(r.rows_hashed), str(r.candidate_pairs),
                      str(r.verified_pairs), str(r.duplicate_pairs), str(r.clusters), str(r.rows_marked_duplicate))
    out.print(table)
    for r in reports:
        out.print(f"{r.target}: " + ", ".join(f"{stage} {sec:.2f} s" for stage, sec in r.seconds.items())
                  + f"; {r.cached_pairs} pairs already verified", highlight=False)


def _print_cluster(data: dict) -> None:
    for c in data.get("file_copies", []):
        out.print(f"byte-identical copy of its file {c['kept_path']}: {c['path']} (batch {c['batch_id']})", highlight=False)
    if data["cluster"] is None:
        out.print(f"{data['target']} {data['row_id']}: {data['why']}")
        return
    out.print(f"{data['target']} {data['row_id']}: cluster {data['cluster']} of run {data['run_id']}, "
              f"representative {data['representative']} ({data['why']})", highlight=False)
    members = Table("row", "decision", "Jaccard with rep.", "chars", "origin", "shared shingles")
    for m in data["members"]:
        members.add_row(str(m["row_id"]), m["decision"], "" if m["jaccard"] is None else f"{m['jaccard']:.3f}",
                        str(m["n_chars"]), m["origin"], " · ".join(m["shared_shingles"]))
    out.print(members)
    pairs = Table("a", "b", "Jaccard", title="pairwise")
    for p in data["pairwise"]:
        pairs.add_row(str(p["a"]), str(p["b"]), f"{p['jaccard']:.3f}")
    out.print(pairs)


RowRef = Annotated[str, typer.Argument(help="document:N, example:N, or N with --target")]
RowTarget = Annotated[str, typer.Option(help="documents|examples")]


def _on_cluster(ref: str, target: str, as_json: bool, action) -> None:
    target, row_id = _row_ref(ref, target)
    data = action(open_store(get_settings().db), target, row_id)
    _emit_json(data) if as_json else _print_cluster(data)


@dedup_app.command("explain")
@friendly
def dedup_explain(ref: RowRef, target: RowTarget = "examples", as_json: JsonOpt = False):
    """Show a row's cluster: members, pairwise Jaccard, shared shingles, why the representative won."""
    from .dedup.explain import explain

    _on_cluster(ref, target, as_json, explain)


@dedup_app.command("keep")
@friendly
def dedup_keep(ref: RowRef, target: RowTarget = "examples", as_json: JsonOpt = False):
    """Make a row its cluster's representative (a steward's override; later runs keep it)."""
    from .dedup.explain import choose_representative

    _on_cluster(ref, target, as_json, lambda conn, t, row: choose_representative(conn, t, row, cli_actor()))


candidates_app = typer.Typer(help="Candidate examples from stored transcripts (extract: no model needed).",
                              no_args_is_help=True)
app.add_typer(candidates_app, name="candidates")


@candidates_app.command("extract")
@friendly
def candidates_extract(
    recipe: Annotated[str, typer.Option(help="conversation|note|turns")] = "conversation",
    limit: Annotated[Optional[int], typer.Option(help="only the first N transcripts (by id)")] = None,
    max_tokens: Annotated[int, typer.Option(help="token budget per example, tokens ~ ceil(chars/4)")] = 4096,
    target_field: Annotated[Optional[str], typer.Option(help="note: metadata key of the target text "
                                                             "(default: section_text, then note)")] = None,
    section_field: Annotated[str, typer.Option(help="note: metadata key naming the section")] = "section_header",
    instruction: Annotated[Optional[str], typer.Option(help="note: instruction template with {section}")] = None,
    speaker: Annotated[list[str], typer.Option("--speaker", help="SPEAKER=ROLE, e.g. agent=assistant")] = [],
    as_json: JsonOpt = False,
):
    """Turn transcripts into candidate examples by a recipe; a re-run adds nothing new."""
    from .candidates import DEFAULT_INSTRUCTION, RecipeOptions, extract_candidates

    settings = get_settings()
    roles = {**settings.speaker_roles, **{k.lower(): v for k, v in _parse_pairs(speaker, "--speaker").items()}}
    opts = RecipeOptions(max_tokens=max_tokens, target_field=target_field, section_field=section_field,
                         instruction=instruction or DEFAULT_INSTRUCTION)
    conn = open_store(settings.db)
    report = extract_candidates(conn, recipe, actor=cli_actor(), speaker_roles=roles, opts=opts, limit=limit)
    if as_json:
        _emit_json(report.summary())
        return
    skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(report.skipped.items())) or "none"
    out.print(f"{recipe}: {report.documents} transcripts, {report.examples_added} examples added; "
              f"skipped: {skipped}; {report.turns_without_role} turns without a user/assistant role left out",
              highlight=False)


@candidates_app.command("synthesize")
@friendly
def candidates_synthesize(
    template: Annotated[str, typer.Option(help="qa, summary, extraction, classification, or a template .json file")] = "qa",
    limit: Annotated[Optional[int], typer.Option(help="only the first N pending documents (by id)")] = None,
    n_per_chunk: Annotated[int, typer.Option(help="requests per chunk")] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count chunks, tokens and cost; send nothing")] = False,
    max_cost: Annotated[Optional[float], typer.Option(help="stop sending new requests past this spend (USD)")] = None,
    as_json: JsonOpt = False,
):
    """Grounded examples from stored documents through the model and a template; a re-run sends nothing."""
    from .synth.synthesize import synthesize

    settings = get_settings()
    conn = open_store(settings.db)
    report = synthesize(conn, settings, template=template, actor=cli_actor(), limit=limit,
                        n_per_chunk=n_per_chunk, dry_run=dry_run, max_cost_usd=max_cost)
    if as_json:
        _emit_json(report.summary())
        return
    cost = "unknown" if report.estimated_cost_usd is None else f"${report.estimated_cost_usd:.4f}"
    if settings.pii_policy != "allow":
        from .synth.pii import installed_spacy_model

        ner = installed_spacy_model()
        out.print(f"PII policy {settings.pii_policy}: pattern recognizers"
                  + (f" + NER {ner}" if ner else "; no NER model, so names are not detected (see `curator doctor`)"),
                  highlight=False)
    out.print(f"{template}: {report.documents} documents, {report.chunks} chunks, {report.requests} requests, "
              f"~{report.estimated_prompt_tokens} prompt tokens, at most {cost}", highlight=False)
    if not dry_run:
        failures = ", ".join(f"{code} {n}" for code, n in sorted(report.failures.items())) or "none"
        out.print(f"sent {report.sent} (cache hits {report.cache_hits}), ${report.cost_usd:.4f}; "
                  f"{report.examples_added} examples added ({report.near_duplicates} near duplicates, "
                  f"{report.outputs_with_pii} with PII findings for the reviewer), {report.duplicates} exact "
                  f"duplicates; few-shot seeds {len(report.seed_examples)}; failures: {failures}", highlight=False)


@keys_app.command("create")
@friendly
def keys_create(name: Annotated[str, typer.Option(help="who or what uses the key")],
                role: Annotated[str, typer.Option(help="reviewer|steward|admin")],
                as_json: JsonOpt = False):
    """Create an API key; the secret is printed once and stored only as a hash."""
    conn = open_store(get_settings().db)
    secret = keys_lib.create_key(conn, name, role, cli_actor())
    if as_json:
        _emit_json({"name": name, "role": role, "key": secret})
    else:
        out.print(secret, highlight=False)
        err.print(f"key {name!r} ({role}) created; it is shown only this once.")


@keys_app.command("list")
@friendly
def keys_list(as_json: JsonOpt = False):
    conn = open_store(get_settings().db)
    rows = keys_lib.list_keys(conn)
    if as_json:
        _emit_json(rows)
        return
    table = Table("name", "role", "prefix", "created", "revoked")
    for r in rows:
        table.add_row(r["name"], r["role"], r["prefix"], str(r["created_at"]), str(r["revoked_at"] or ""))
    out.print(table)


@keys_app.command("revoke")
@friendly
def keys_revoke(name: str):
    conn = open_store(get_settings().db)
    keys_lib.revoke_key(conn, name, cli_actor())
    out.print(f"key {name!r} revoked")


def _register_review() -> None:
    """``curator review`` lives in annotation/cli.py, which imports this module: when it is
    imported first, it registers itself at its end instead."""
    if "annotation.cli" in sys.modules and not hasattr(sys.modules["annotation.cli"], "review_app"):
        return
    from annotation.cli import register

    register(app)


@app.command()
@friendly
def doctor(as_json: JsonOpt = False):
    """What this installation will do: store, model endpoint, active PII detectors, optional parts."""
    from .doctor import diagnose

    data = diagnose(get_settings())
    if as_json:
        _emit_json(data)
        return
    store, model, pii = data["store"], data["model"], data["pii"]
    out.print(f"store: {store['path']}" + (f" (schema {store['schema_version']}/{store['latest']})"
                                           if store["exists"] else " (missing)")
              + (f" — {store['hint']}" if store["hint"] else ""), highlight=False)
    out.print(f"model: {model['model']} at {model['base_url']}; API key {'set' if model['api_key_set'] else 'NOT set'}; "
              f"{'priced' if model['priced'] else 'no price (cost unknown, --max-cost refused)'}", highlight=False)
    out.print(f"PII policy: {pii['policy']}; active detectors: {', '.join(pii['detectors'])}", highlight=False)
    out.print(f"NER model: {pii['ner_model'] or 'none'}" + (f" — {pii['warning']}" if pii["warning"] else ""),
              highlight=False)
    ls = data["label_studio"]
    out.print(f"Label Studio: {ls['url']} " + ("answers" if ls["healthy"] else f"does not answer — {ls['hint']}"),
              highlight=False)
    for name, ok in data["optional"].items():
        out.print(f"{escape(name)}: {'installed' if ok else 'not installed'}", highlight=False)


@app.command()
@friendly
def serve(host: Annotated[Optional[str], typer.Option()] = None,
          port: Annotated[Optional[int], typer.Option()] = None):
    """Run the API service; it owns the store file while it runs (one worker: one DuckDB writer)."""
    import uvicorn

    from .api.app import create_app

    settings = get_settings()
    open_store(settings.db).close()  # fail in one line if another process holds the store
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, workers=1)


from .versions.cli import export, version_app  # noqa: E402  (needs friendly & co. above)

app.add_typer(version_app, name="version")
app.command("export")(export)

from .train_cli import train, training_app  # noqa: E402  (registers `curator train` and `curator training`)

app.command()(train)
app.add_typer(training_app, name="training")

_register_review()

if __name__ == "__main__":
    app()
