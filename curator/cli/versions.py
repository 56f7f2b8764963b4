"""``curator version ...`` and ``curator export``: immutable dataset versions and their exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..ops import get
from . import remote
from .dispatch import execute, run, through_service
from .output import JsonOpt, emit_json, err, fail, friendly_errors, out
from .output import out as console  # `export --out` takes the name `out`

version_app = typer.Typer(help="Immutable dataset versions: create, approve, list, show, diff.", no_args_is_help=True)
RefArg = Annotated[str, typer.Argument(help="NAME@N, e.g. support@2")]


def _counts(counts: dict) -> str:
    return " / ".join(f"{s} {counts.get(s, 0)}" for s in ("train", "validation", "test"))


@version_app.command("create")
def create(name: Annotated[str, typer.Argument(help="dataset name; the version number is the next free one")],
           split: Annotated[str, typer.Option(help="train,validation,test shares")] = "0.8,0.1,0.1",
           seed: Annotated[int, typer.Option(help="seed of the group → split hash")] = 0,
           where: Annotated[Optional[str], typer.Option(help="SQL boolean over version_candidates columns, "
                                                             "e.g. \"kind = 'extracted'\"")] = None,
           min_rating: Annotated[Optional[float], typer.Option(help="mean correctness rating at least this (1-5)")] = None,
           group_by: Annotated[Optional[str], typer.Option(help="SQL expression over version_candidates columns whose "
                                                                "equal values share a group, e.g. \"metadata->>'patient_id'\"")] = None,
           boilerplate_share: Annotated[float, typer.Option(help="n-grams in more than this share of examples are boilerplate")] = 0.05,
           boilerplate_count: Annotated[int, typer.Option(help="n-grams in more than this many examples are boilerplate")] = 10,
           min_shared_ngrams: Annotated[int, typer.Option(help="examples sharing this many n-grams overlap")] = 10,
           stratify_by: Annotated[Optional[str], typer.Option(help="SQL expression over version_candidates columns giving "
                                                                   "each example's class, kept at the split shares in every "
                                                                   "split, e.g. \"metadata->>'category'\" or response")] = None,
           min_class_share: Annotated[float, typer.Option(help="warn about classes under this share of the version")] = 0.10,
           exclude_auto: Annotated[bool, typer.Option(help="leave out examples approved by auto-accept")] = False,
           as_json: JsonOpt = False):
    """Freeze approved, non-duplicate examples into a new immutable draft version of NAME."""
    from ..versions.grouping import describe_report
    from ..versions.stratify import describe_classes

    def render(version: dict) -> None:
        if not version["created"]:
            out.print(f"unchanged: {version['ref']} ({version['status']}) already holds exactly these examples and "
                      "parameters; no version added", highlight=False, soft_wrap=True)
            return
        out.print(f"{version['ref']} (draft): {_counts(version['counts'])}; content hash {version['content_hash']}",
                  highlight=False, soft_wrap=True)
        out.print(describe_report(version["grouping"]["report"]), highlight=False, soft_wrap=True)
        if version["grouping"].get("classes"):
            out.print(describe_classes(version["grouping"]["classes"]), highlight=False, soft_wrap=True, markup=False)
        if version["dedup_run_id"] is None:
            err.print("note: no near-duplicate run yet, so examples were grouped by source only; run "
                      "`curator dedup --target examples` and create again", highlight=False, soft_wrap=True)
        elif version["unclustered"]:
            err.print(f"note: {version['unclustered']} of its examples came after the latest near-duplicate run; they "
                      "were grouped with their near-duplicates all the same, but `curator dedup --target examples` "
                      "would mark duplicates among them", highlight=False, soft_wrap=True)

    with friendly_errors():
        run("version.create", {"name": name, "split": split, "seed": seed, "where": where, "min_rating": min_rating,
                                "group_by": group_by, "boilerplate_share": boilerplate_share,
                                "boilerplate_count": boilerplate_count, "min_shared_ngrams": min_shared_ngrams,
                                "stratify_by": stratify_by, "min_class_share": min_class_share,
                                "exclude_auto": exclude_auto},
            as_json, render, label=f"freezing {name}")


@version_app.command("approve")
def approve(ref: RefArg, as_json: JsonOpt = False):
    """Approve a draft after a clean cross-split leakage check (refused, naming the pairs, otherwise)."""
    from ..versions import LeakageFound

    with friendly_errors():
        try:
            version = execute("version.approve", {"ref": ref}, quiet=as_json, label=f"approving {ref}")
        except (LeakageFound, remote.RemoteError) as exc:
            report = getattr(exc, "report", None) or getattr(exc, "body", {}).get("leakage")
            if as_json and report is not None:
                emit_json({"approved": False, "error": str(exc), "leakage": report})
                raise typer.Exit(1) from None
            raise
        if as_json:
            emit_json(version)
            return
        out.print(f"{version['ref']} approved by {version['approved_by']}; content hash {version['content_hash']}",
                  highlight=False, soft_wrap=True)


@version_app.command("leakage")
def leakage(ref: RefArg, as_json: JsonOpt = False):
    """The cross-split leakage check approval runs, without approving: every pair it finds."""

    def render(report: dict) -> None:
        out.print(f"{report['version']}: {'clean' if report['clean'] else 'leaks'}; "
                  f"{report['n_near_duplicate_pairs']} near-duplicate pairs (Jaccard ≥ {report['threshold']}, "
                  f"{report['shingles']}), {report['n_ngram_pairs']} pairs sharing response {report['ngram']}-grams",
                  highlight=False)
        table = Table("example", "split", "example", "split", "why")
        for p in report["near_duplicate_pairs"][:50]:
            table.add_row(str(p["a"]), p["split_a"], str(p["b"]), p["split_b"], f"Jaccard {p['jaccard']:.3f}")
        for p in report["ngram_pairs"][:50]:
            table.add_row(str(p["a"]), p["split_a"], str(p["b"]), p["split_b"], f"{p['shared_ngrams']} shared n-grams")
        if table.row_count:
            out.print(table)

    with friendly_errors():
        run("version.leakage", {"ref": ref}, as_json, render, label=f"checking {ref}")


@version_app.command("list")
def list_(name: Annotated[Optional[str], typer.Option(help="only this name")] = None, as_json: JsonOpt = False):
    """Every version: status, split counts, content hash."""

    def render(versions: list) -> None:
        table = Table("version", "status", "train / validation / test", "content hash", "created", "approved by")
        for v in versions:
            table.add_row(v["ref"], v["status"], _counts(v["counts"]), v["content_hash"][:16],
                          str(v["created_at"])[:19], v["approved_by"] or "")
        out.print(table)

    with friendly_errors():
        run("version.list", {"name": name}, as_json, render)


@version_app.command("show")
def show(ref: RefArg, as_json: JsonOpt = False):
    """One version, verified against its content hash: parameters, counts, groups per split."""

    def render(v: dict) -> None:
        for key in ("ref", "status", "content_hash", "parent_id", "filter", "min_rating", "split_spec", "seed",
                    "dedup_run_id", "created_by", "created_at", "approved_by", "approved_at"):
            out.print(f"{key}: {v[key]}", highlight=False, markup=False)
        table = Table("split", "examples", "groups", "largest group")
        for split, g in v["groups"].items():
            table.add_row(split, str(v["counts"][split]), str(g["groups"]), str(g["largest"]))
        out.print(table)
        if (v.get("grouping") or {}).get("classes"):
            from ..versions.stratify import describe_classes

            out.print(f"stratified by {v['grouping']['stratify_by']}", highlight=False, markup=False)
            out.print(describe_classes(v["grouping"]["classes"]), highlight=False, markup=False, soft_wrap=True)

    with friendly_errors():
        run("version.show", {"ref": ref}, as_json, render)


@version_app.command("diff")
def diff(a: RefArg, b: RefArg, as_json: JsonOpt = False):
    """Examples added, removed, changed (text) and moved between splits from A to B."""

    def render(d: dict) -> None:
        out.print(f"{d['a']} → {d['b']}: {len(d['added'])} added, {len(d['removed'])} removed, {len(d['changed'])} "
                  f"changed, {len(d['moved'])} moved, {d['unchanged']} unchanged", highlight=False)
        for key in ("added", "removed", "changed"):
            if d[key]:
                out.print(f"  {key}: {', '.join(map(str, d[key][:50]))}{' …' if len(d[key]) > 50 else ''}",
                          highlight=False)
        for m in d["moved"][:50]:
            out.print(f"  moved: example {m['example_id']} {m['from']} → {m['to']}", highlight=False)

    with friendly_errors():
        run("version.diff", {"a": a, "b": b}, as_json, render)


def export(version: RefArg,
           format: Annotated[str, typer.Option("--format", help="openai|alpaca|parquet|hf")] = "openai",
           out: Annotated[Path, typer.Option("--out", help="directory to write (replaced if an earlier export)")] = Path("export"),
           balance: Annotated[str, typer.Option(help="none|oversample|undersample: rebalance the train split's classes "
                                                     "(a version cut with --stratify-by), seeded, in the manifest")] = "none",
           balance_seed: Annotated[int, typer.Option(help="seed of the --balance sampling")] = 0,
           push_to_hub: Annotated[Optional[str], typer.Option(
               "--push-to-hub", help="then upload the folder (card and manifest included) to this Hugging Face "
               "dataset repo, OWNER/NAME, as one commit (needs HF_TOKEN or `hf auth login`)")] = None,
           public: Annotated[bool, typer.Option(help="with --push-to-hub: create the repo public, not private")] = False,
           as_json: JsonOpt = False):
    """Write a version's splits for a trainer (OpenAI JSONL, Alpaca JSON, Parquet, HF DatasetDict) with a dataset
    card (README.md) and manifest.json."""
    with friendly_errors():
        params = {"version": version, "format": format, "out": str(out), "balance": balance,
                  "balance_seed": balance_seed}
        get("export").params.model_validate(params)
        service = through_service()
        manifest = execute("export", params, quiet=as_json, label=f"exporting {version} as {format}")
        if service is not None:  # the service wrote its own copy: fetch it, each file checked on arrival
            remote.download_export(service, manifest, out)
        if push_to_hub:  # from this machine, with this user's token: the service never holds it
            from ..versions.export_hub import push_to_hub as push

            manifest["hub"] = push(out, push_to_hub, private=not public)
        if as_json:
            emit_json(manifest)
            return
        console.print(f"{manifest['ref']} ({manifest['status']}) → {out} as {format}: "
                  + ", ".join(f"{s} {v['count']}" for s, v in manifest["splits"].items()), highlight=False)
        if manifest.get("balance"):
            b = manifest["balance"]
            console.print(f"train rebalanced ({b['method']}, seed {b['seed']}): {b['before']} → {b['after']}",
                          highlight=False, markup=False)
        if manifest.get("hub"):
            console.print(f"pushed to {manifest['hub']['repo']}: {manifest['hub']['url']}", highlight=False)
        if manifest["status"] != "approved":
            err.print(f"note: {manifest['ref']} is a draft; trainers refuse unapproved versions")


__all__ = ["export", "fail", "version_app"]
