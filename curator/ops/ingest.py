"""Ingest and the candidate steps as operations."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, Field

from ..errors import InputError
from ..ingest import FORMATS
from .base import Context, Params, Result, operation

Format = Literal[FORMATS]  # type: ignore[valid-type]


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """``KEY=VALUE`` options (``--field``, ``--speaker``) as a dict, refused by name when malformed."""
    result = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"{what} expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def speaker_roles(ctx: Context, speaker: list[str]) -> dict[str, str]:
    """The settings' speaker→role map extended by ``--speaker SPEAKER=ROLE`` pairs."""
    return {**ctx.settings.speaker_roles, **{k.lower(): v for k, v in parse_pairs(speaker, "--speaker").items()}}


class IngestParams(Params):
    paths: list[str] = Field(min_length=1, description="files or directories (recursive); over HTTP, the "
                             "uploaded files' top-level names")
    source: Optional[str] = Field(None, description="source name (default: each PATH's name)")
    format: Format = Field("auto", description="force a reader shape")
    field: list[str] = Field([], description="ROLE=NAME column/key mapping, e.g. text=body")
    speaker: list[str] = Field([], description="SPEAKER=ROLE, e.g. agent=assistant")
    exclude: list[str] = Field([], description="glob of files to leave out, e.g. '*_metadata.csv'")
    max_record_bytes: Optional[int] = Field(None, gt=0, description="reject larger records")


class Rejected(BaseModel):
    origin: str = Field(description="file (as the caller named it) and line")
    reason: str = Field(description="'code: reason'")


class IngestResult(Result):
    """What `curator ingest --json` prints and `POST /ingest` returns."""

    batch_id: int
    files: int
    files_skipped: int = Field(description="files already committed by an earlier batch")
    skipped_files: list[dict] = Field([], description="{path, ingested_as} of those files")
    file_copies: list[dict] = Field([], description="{path, copy_of}: byte-identical copies met in this batch")
    documents_added: int
    examples_added: int
    duplicates_skipped: int
    rejected: list[Rejected]


@operation("ingest", params=IngestParams, result=IngestResult, kind="job", role="steward", method="POST",
           path="/ingest", cli=("ingest",))
def ingest(ctx: Context, p: IngestParams) -> dict:
    """Ingest documents, transcripts and existing fine-tuning sets; one transaction per file."""
    from ..ingest import IngestOptions, ingest_paths

    s = ctx.settings
    opts = IngestOptions(format="auto" if p.format == "csv" else p.format, fields=parse_pairs(p.field, "--field"),
                         speaker_roles=speaker_roles(ctx, p.speaker),
                         max_record_bytes=p.max_record_bytes or s.max_record_bytes)
    root: Path | None = ctx.uploads.get("root")
    paths = [root / name for name in p.paths] if root else [Path(name) for name in p.paths]
    report = ingest_paths(ctx.conn, paths, opts=opts, actor=ctx.actor, source=p.source, exclude=p.exclude,
                          workers=s.workers, parallel_min_bytes=s.parallel_min_bytes, chunk_bytes=s.chunk_bytes,
                          progress=lambda _phase, done, total: ctx.progress(done, total, "bytes", "ingest"),
                          file_done=lambda path, counts: ctx.log(f"committed {path} {counts}"))
    show = (lambda origin: origin.removeprefix(f"{root.resolve()}/")) if root else str
    return report.summary(show)


class ExtractParams(Params):
    recipe: Literal["conversation", "note", "turns"] = "conversation"
    limit: Optional[int] = Field(None, ge=1, description="only the first N transcripts (by id)")
    max_tokens: int = Field(4096, gt=0, description="token budget per example, tokens ~ ceil(chars/4)")
    max_turns: int = Field(6, gt=0, description="conversation: assistant turns per example (each is a box a "
                                                "reviewer corrects); longer conversations become windows")
    target_field: Optional[str] = Field(None, description="note: metadata key of the target text "
                                        "(default: section_text, then note)")
    section_field: str = Field("section_header", description="note: metadata key naming the section")
    instruction: Optional[str] = Field(None, description="note: instruction template with {section}")
    speaker: list[str] = Field([], description="SPEAKER=ROLE, e.g. agent=assistant")


class ExtractResult(Result):
    recipe: str
    documents: int
    examples_added: int
    skipped: dict[str, int]
    turns_without_role: int


@operation("candidates.extract", params=ExtractParams, result=ExtractResult, kind="job", role="steward",
           method="POST", path="/candidates/extract", cli=("candidates", "extract"))
def extract(ctx: Context, p: ExtractParams) -> dict:
    """Turn transcripts into candidate examples by a recipe; a re-run adds nothing new."""
    from ..candidates import DEFAULT_INSTRUCTION, RecipeOptions, extract_candidates

    opts = RecipeOptions(max_tokens=p.max_tokens, max_turns=p.max_turns, target_field=p.target_field, section_field=p.section_field,
                         instruction=p.instruction or DEFAULT_INSTRUCTION)
    return extract_candidates(ctx.conn, p.recipe, actor=ctx.actor, speaker_roles=speaker_roles(ctx, p.speaker),
                              opts=opts, limit=p.limit).summary()


class SynthesizeParams(Params):
    template: str = Field("qa", description="qa, summary, extraction, classification, or a template .json file "
                          "(a file on the service's machine when a service runs)")
    limit: Optional[int] = Field(None, ge=1, description="only the first N pending documents (by id)")
    n_per_chunk: int = Field(1, ge=1, description="requests per chunk")
    dry_run: bool = Field(False, description="count chunks, tokens and cost; send nothing")
    max_cost: Optional[float] = Field(None, gt=0, description="stop sending new requests past this spend (USD)")


class SynthesizeResult(Result):
    documents: int
    chunks: int
    requests: int
    examples_added: int


@operation("candidates.synthesize", params=SynthesizeParams, result=SynthesizeResult, kind="job", role="steward",
           method="POST", path="/candidates/synthesize", cli=("candidates", "synthesize"))
def synthesize(ctx: Context, p: SynthesizeParams) -> dict:
    """Grounded examples from stored documents through the model and a template; a re-run sends nothing."""
    from ..synth.pii import installed_spacy_model
    from ..synth.synthesize import synthesize as run

    report = run(ctx.conn, ctx.settings, template=p.template, actor=ctx.actor, limit=p.limit,
                 n_per_chunk=p.n_per_chunk, dry_run=p.dry_run, max_cost_usd=p.max_cost)
    return report.summary() | {"pii_policy": ctx.settings.pii_policy, "ner_model": installed_spacy_model()}
