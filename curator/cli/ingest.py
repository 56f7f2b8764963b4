"""``curator ingest`` and ``curator candidates extract|synthesize``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..ingest import FORMATS
from .dispatch import run
from .output import JsonOpt, friendly_errors, out

SpeakerOpt = Annotated[list[str], typer.Option("--speaker", help="SPEAKER=ROLE, e.g. agent=assistant")]


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or directories (recursive)")],
    source: Annotated[Optional[str], typer.Option(help="source name (default: each PATH's name)")] = None,
    format: Annotated[str, typer.Option("--format", help="|".join(FORMATS))] = "auto",
    field: Annotated[list[str], typer.Option("--field", help="ROLE=NAME column/key mapping, e.g. text=body")] = [],
    speaker: SpeakerOpt = [],
    exclude: Annotated[list[str], typer.Option(help="glob of files to leave out, e.g. '*_metadata.csv'")] = [],
    max_record_bytes: Annotated[Optional[int], typer.Option(help="reject larger records")] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="one line per committed file")] = False,
    as_json: JsonOpt = False,
):
    """Ingest documents, transcripts and existing fine-tuning sets; one transaction per file."""

    def render(r: dict) -> None:
        out.print(f"batch {r['batch_id']}: {r['files']} files ({r['files_skipped']} already ingested, "
                  f"{len(r['file_copies'])} byte-identical copies recorded), "
                  f"{r['documents_added']} documents, {r['examples_added']} examples, "
                  f"{r['duplicates_skipped']} exact duplicates skipped, {len(r['rejected'])} rejected")
        for rej in r["rejected"][:20]:
            out.print(f"  rejected {rej['origin']}: {rej['reason']}", highlight=False, markup=False)
        if len(r["rejected"]) > 20:
            out.print(f"  … {len(r['rejected']) - 20} more (see `curator stats` or the rejects table)")

    with friendly_errors():
        run("ingest", {"paths": [str(p) for p in paths], "source": source, "format": format, "field": field,
                       "speaker": speaker, "exclude": exclude, "max_record_bytes": max_record_bytes},
            as_json, render, verbose=verbose)


candidates_app = typer.Typer(help="Candidate examples from stored transcripts (extract: no model needed) or "
                                  "documents (synthesize).", no_args_is_help=True)


@candidates_app.command("extract")
def candidates_extract(
    recipe: Annotated[str, typer.Option(help="conversation|note|turns")] = "conversation",
    limit: Annotated[Optional[int], typer.Option(help="only the first N transcripts (by id)")] = None,
    max_tokens: Annotated[int, typer.Option(help="token budget per example, tokens ~ ceil(chars/4)")] = 4096,
    max_turns: Annotated[int, typer.Option(help="conversation: assistant turns per example (each is a box a "
                                                "reviewer corrects); longer conversations become windows")] = 6,
    target_field: Annotated[Optional[str], typer.Option(help="note: metadata key of the target text "
                                                             "(default: section_text, then note)")] = None,
    section_field: Annotated[str, typer.Option(help="note: metadata key naming the section")] = "section_header",
    instruction: Annotated[Optional[str], typer.Option(help="note: instruction template with {section}")] = None,
    speaker: SpeakerOpt = [],
    as_json: JsonOpt = False,
):
    """Turn transcripts into candidate examples by a recipe; a re-run adds nothing new."""

    def render(r: dict) -> None:
        skipped = ", ".join(f"{reason} {n}" for reason, n in sorted(r["skipped"].items())) or "none"
        out.print(f"{r['recipe']}: {r['documents']} transcripts, {r['examples_added']} examples added; "
                  f"skipped: {skipped}; {r['turns_without_role']} turns without a user/assistant role left out",
                  highlight=False)

    with friendly_errors():
        run("candidates.extract", {"recipe": recipe, "limit": limit, "max_tokens": max_tokens, "max_turns": max_turns,
                                   "target_field": target_field, "section_field": section_field,
                                   "instruction": instruction, "speaker": speaker}, as_json, render)


@candidates_app.command("synthesize")
def candidates_synthesize(
    template: Annotated[str, typer.Option(help="qa, summary, extraction, classification, or a template .json file")] = "qa",
    limit: Annotated[Optional[int], typer.Option(help="only the first N pending documents (by id)")] = None,
    n_per_chunk: Annotated[int, typer.Option(help="requests per chunk")] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count chunks, tokens and cost; send nothing")] = False,
    max_cost: Annotated[Optional[float], typer.Option(help="stop sending new requests past this spend (USD)")] = None,
    as_json: JsonOpt = False,
):
    """Grounded examples from stored documents through the model and a template; a re-run sends nothing."""

    def render(r: dict) -> None:
        cost = "unknown" if r["estimated_cost_usd"] is None else f"${r['estimated_cost_usd']:.4f}"
        if r["pii_policy"] != "allow":
            ner = r["ner_model"]
            out.print(f"PII policy {r['pii_policy']}: pattern recognizers"
                      + (f" + NER {ner}" if ner else "; no NER model, so names are not detected (see `curator doctor`)"),
                      highlight=False)
        out.print(f"{template}: {r['documents']} documents, {r['chunks']} chunks, {r['requests']} requests, "
                  f"~{r['estimated_prompt_tokens']} prompt tokens, at most {cost}", highlight=False)
        if not dry_run:
            failures = ", ".join(f"{code} {n}" for code, n in sorted(r["failures"].items())) or "none"
            out.print(f"sent {r['sent']} (cache hits {r['cache_hits']}), ${r['cost_usd']:.4f}; "
                      f"{r['examples_added']} examples added ({r['near_duplicates']} near duplicates, "
                      f"{r['outputs_with_pii']} with PII findings for the reviewer), {r['duplicates']} exact "
                      f"duplicates; few-shot seeds {len(r['seed_examples'])}; failures: {failures}", highlight=False)

    with friendly_errors():
        run("candidates.synthesize", {"template": template, "limit": limit, "n_per_chunk": n_per_chunk,
                                      "dry_run": dry_run, "max_cost": max_cost}, as_json, render)
