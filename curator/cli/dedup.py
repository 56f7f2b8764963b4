"""``curator dedup`` (a run) and ``curator dedup explain|keep``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from .dispatch import run
from .output import JsonOpt, friendly_errors, out

dedup_app = typer.Typer(help="Near-duplicates: MinHash LSH, exact verification, clusters, decisions.",
                        invoke_without_command=True)


def _render_runs(result) -> None:
    reports = result if isinstance(result, list) else [result]
    first = reports[0]
    if "cosine" in first:
        _render_semantic(reports)
        return
    table = Table("target", "rows", "hashed", "candidates", "verified", "≥ thr.", "clusters", "duplicates",
                  title=f"dedup {first['params_key']}, {first['bands']} bands × {first['rows']} rows")
    for r in reports:
        table.add_row(r["target"], str(r["rows_total"]), str(r["rows_hashed"]), str(r["candidate_pairs"]),
                      str(r["verified_pairs"]), str(r["duplicate_pairs"]), str(r["clusters"]),
                      str(r["rows_marked_duplicate"]))
    out.print(table)
    for r in reports:
        out.print(f"{r['target']}: " + ", ".join(f"{stage} {sec:.2f} s" for stage, sec in r["seconds"].items())
                  + f"; {r['cached_pairs']} pairs already verified", highlight=False)


def _render_semantic(reports: list[dict]) -> None:
    first = reports[0]
    table = Table("target", "rows", "embedded", "from cache", "no vector", "≥ cos.", "clusters", "duplicates",
                  title=f"semantic dedup {first['model']}, cosine ≥ {first['cosine']}, {first['index']} search")
    for r in reports:
        table.add_row(r["target"], str(r["rows_total"]), str(r["rows_embedded"]), str(r["cache_hits"]),
                      str(r["rows_without_vector"]), str(r["duplicate_pairs"]), str(r["clusters"]),
                      str(r["rows_marked_duplicate"]))
    out.print(table)
    for r in reports:
        out.print(f"{r['target']}: " + ", ".join(f"{stage} {sec:.2f} s" for stage, sec in r["seconds"].items()),
                  highlight=False)


@dedup_app.callback()
def dedup(ctx: typer.Context,
          target: Annotated[str, typer.Option(help="documents|examples|all")] = "all",
          threshold: Annotated[float, typer.Option(help="Jaccard at or above which rows are near-duplicates")] = 0.8,
          num_perm: Annotated[int, typer.Option(help="MinHash permutations")] = 128,
          ngram: Annotated[int, typer.Option(help="shingle size (words, or characters with --shingle char)")] = 5,
          shingle: Annotated[str, typer.Option(help="word|char")] = "word",
          seed: Annotated[int, typer.Option(help="permutation seed")] = 1,
          engine: Annotated[str, typer.Option(help="local|ray")] = "local",
          method: Annotated[str, typer.Option(help="minhash (shared wording) or semantic (embedding cosine, "
                                                   "CURATOR_EMBEDDING_*)")] = "minhash",
          cosine: Annotated[float, typer.Option(help="semantic: cosine at or above which rows are "
                                                     "paraphrases")] = 0.9,
          index: Annotated[str, typer.Option(help="semantic: auto|exact|usearch")] = "auto",
          as_json: JsonOpt = False):
    """Find near-duplicates of documents and examples; each cluster member gets a decision."""
    if ctx.invoked_subcommand is not None:
        return
    with friendly_errors():
        run("dedup", {"target": target, "threshold": threshold, "num_perm": num_perm, "ngram": ngram,
                      "shingle": shingle, "seed": seed, "engine": engine, "method": method, "cosine": cosine,
                      "index": index}, as_json, _render_runs)


def _print_cluster(data: dict) -> None:
    for c in data.get("file_copies", []):
        out.print(f"byte-identical copy of its file {c['kept_path']}: {c['path']} (batch {c['batch_id']})", highlight=False)
    if data["cluster"] is None:
        out.print(f"{data['target']} {data['row_id']}: {data['why']}")
        return
    method = data.get("method", "minhash")
    out.print(f"{data['target']} {data['row_id']}: {method} cluster {data['cluster']} of run {data['run_id']}, "
              f"representative {data['representative']} ({data['why']})", highlight=False)
    if method == "semantic":
        members = Table("row", "decision", "cosine with rep.", "chars", "origin", "preview", title=data["model"])
        for m in data["members"]:
            members.add_row(str(m["row_id"]), m["decision"], "" if m["cosine"] is None else f"{m['cosine']:.3f}",
                            str(m["n_chars"]), m["origin"], m["preview"][:60])
        out.print(members)
        pairs = Table("a", "b", "cosine", title="pairwise")
        for p in data["pairwise"]:
            pairs.add_row(str(p["a"]), str(p["b"]), f"{p['cosine']:.3f}")
        out.print(pairs)
        return
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
RowMethod = Annotated[str, typer.Option(help="minhash|semantic: whose cluster to show")]


@dedup_app.command("explain")
def dedup_explain(ref: RowRef, target: RowTarget = "examples", method: RowMethod = "minhash", as_json: JsonOpt = False):
    """Show a row's cluster: members, pairwise Jaccard (or cosine), shared shingles, why the representative won."""
    with friendly_errors():
        run("dedup.explain", {"ref": ref, "target": target, "method": method}, as_json, _print_cluster)


@dedup_app.command("keep")
def dedup_keep(ref: RowRef, target: RowTarget = "examples", method: RowMethod = "minhash", as_json: JsonOpt = False):
    """Make a row its cluster's representative in both methods (a steward's override; later runs keep it)."""
    with friendly_errors():
        run("dedup.keep", {"ref": ref, "target": target, "method": method}, as_json, _print_cluster)
