"""Near-duplicate operations: a run, a cluster's explanation, a steward's choice of representative."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..dedup.params import DedupParams, EngineName
from ..errors import InputError
from .base import AnyResult, Context, Params, Result, operation

Target = Literal["documents", "examples"]


Method = Literal["minhash", "semantic"]


class DedupRunParams(DedupParams, Params):
    """The run's MinHash parameters (validated as ``DedupParams``), its target and engine; or, with
    ``method=semantic``, the embedding search's (``SemanticParams``, the model from the settings)."""

    target: Literal["documents", "examples", "all"] = "all"
    engine: EngineName = "local"
    method: Method = Field("minhash", description="minhash: shared wording; semantic: embedding cosine "
                                                  "(CURATOR_EMBEDDING_*)")
    cosine: float = Field(0.9, gt=0.0, le=1.0, description="semantic: cosine at or above which rows are paraphrases")
    index: Literal["auto", "exact", "usearch"] = Field("auto", description="semantic: exact search, an HNSW index, "
                                                       "or exact up to 200,000 rows and HNSW above")


@operation("dedup", params=DedupRunParams, result=AnyResult, kind="job", role="steward", method="POST",
           path="/dedup", cli=("dedup",))
def dedup(ctx: Context, p: DedupRunParams) -> dict | list[dict]:
    """Find near-duplicates of documents and examples; each cluster member gets a decision."""
    from ..dedup import run_dedup

    targets = ("documents", "examples") if p.target == "all" else (p.target,)
    if p.method == "semantic":
        return _semantic(ctx, p, targets)
    params = DedupParams(**p.model_dump(include=set(DedupParams.model_fields)))
    reports = []
    for name in targets:
        reports.append(run_dedup(ctx.conn, name, params, actor=ctx.actor, engine=p.engine,
                                 ray_address=ctx.settings.ray_address,
                                 progress=lambda stage, done, name=name: ctx.progress(done, None, "rows",
                                                                                      f"{name}: {stage}")).as_dict())
    return reports if p.target == "all" else reports[0]


def _semantic(ctx: Context, p: DedupRunParams, targets: tuple[str, ...]) -> dict | list[dict]:
    from ..dedup.semantic import SemanticParams, run_semantic
    from ..synth.embedding import embedder_from_settings

    embedder = embedder_from_settings(ctx.settings)
    if embedder is None:
        raise InputError("`dedup --method semantic` needs an embedding model: set CURATOR_EMBEDDING_BACKEND "
                         "(openai or local) and CURATOR_EMBEDDING_MODEL")
    params = SemanticParams(cosine=p.cosine, index=p.index)
    reports = []
    for name in targets:
        ctx.progress(0, None, "rows", f"{name}: embed and search")
        reports.append(run_semantic(ctx.conn, name, params, embedder, actor=ctx.actor).as_dict())
    return reports if p.target == "all" else reports[0]


MAX_ID = 2**63 - 1  # row ids are BIGINT


class RowParams(Params):
    ref: str = Field(description="document:N, example:N, or N with --target")
    target: Target = "examples"
    method: Method = Field("minhash", description="whose cluster: MinHash's or the semantic run's")

    def row(self) -> tuple[str, int]:
        kind, _, num = self.ref.rpartition(":")
        target = {"document": "documents", "example": "examples"}.get(kind, kind) if kind else self.target
        if target not in ("documents", "examples") or not (num.isascii() and num.isdigit()) or int(num) > MAX_ID:
            raise InputError(f"expected ID as document:N, example:N or N with --target, got {self.ref!r}")
        return target, int(num)


class ClusterResult(Result):
    target: str
    row_id: int
    cluster: int | None = None


@operation("dedup.explain", params=RowParams, result=ClusterResult, kind="read", role="steward", method="GET",
           path="/dedup/explain/{target}/{ref}", cli=("dedup", "explain"))
def explain(ctx: Context, p: RowParams) -> dict:
    """Show a row's cluster: members, pairwise Jaccard (or cosine), shared shingles, why the representative won."""
    from ..dedup.explain import explain as explain_row
    from ..dedup.semantic import explain as explain_semantic

    return (explain_semantic if p.method == "semantic" else explain_row)(ctx.conn, *p.row())


@operation("dedup.keep", params=RowParams, result=ClusterResult, kind="job", role="steward", method="POST",
           path="/dedup/keep/{target}/{ref}", cli=("dedup", "keep"))
def keep(ctx: Context, p: RowParams) -> dict:
    """Make a row its cluster's representative in both methods (a steward's override; later runs keep it)."""
    from ..dedup.explain import choose_representative

    return choose_representative(ctx.conn, *p.row(), ctx.actor, p.method)
