"""The dataset card written with every export (``README.md``): Hugging Face's dataset-card format,
YAML metadata then prose, generated from the store, never by hand.

A version knows where each example came from, how it was made and reviewed, what dedup and PII
policy ran, how its splits were grouped and checked; the card carries that to whoever receives
the files. It states only what the store holds (a licence or language nobody declared is said to
be missing, not guessed) and nothing that changes between two exports of one version (no export
time, no absolute paths), so an export stays byte for byte reproducible, card included.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import orjson
import yaml

from ..errors import InputError, NotFoundError
from ..store import rows, transaction
from .splits import SPLITS

CARD = "README.md"
# Hugging Face's size categories, by number of rows
SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
         (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
# what a recipe or synthesis template trains besides chat generation (Hub task ids)
TASKS = {"note": "summarization", "summary": "summarization", "qa": "question-answering",
         "classification": "text-classification"}
KIND_WORDS = {"extracted": "extracted from ingested transcripts and documents",
              "synthetic": "synthesised by a model from ingested documents",
              "imported": "imported as ready-made examples"}


def size_category(n: int) -> str:
    return next((label for limit, label in SIZES if n < limit), "n>100M")


def _json(value):
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def describe_source(conn: duckdb.DuckDBPyConnection, name: str, actor: str, license: str | None = None,
                    language: str | None = None) -> dict:
    """Record a source's licence and language (what the card's metadata needs and ingest cannot
    know); an unset argument keeps the value already recorded."""
    from ..audit import record_audit

    if license is None and language is None:
        raise InputError("give --license and/or --language")
    if language is not None and not (2 <= len(language) <= 3 and language.isalpha() and language.islower()):
        raise InputError(f"--language must be an ISO 639-1/3 code such as 'en', got {language!r}")
    if license is not None and (not license or any(c.isspace() for c in license)):
        raise InputError(f"--license must be a licence id such as cc-by-4.0, mit or other, got {license!r}")
    with transaction(conn):
        found = rows(conn, "card.describe_source", {"name": name, "license": license and license.lower(),
                                                      "language": language})
        if not found:
            raise NotFoundError(f"no source named {name!r}; see `curator stats`")
        record_audit(conn, actor, "source.describe", name, {"license": found[0]["license"],
                                                             "language": found[0]["language"]})
    return {"name": name, **found[0]}


def _kappa(matrix: list[dict]) -> float | None:
    """Scott's pi over unordered pairs, as the stats report computes it (``curator.stats``, which
    imports this package, so it cannot be imported from here)."""
    n = sum(r["n"] for r in matrix)
    if not n:
        return None
    share: Counter = Counter()
    for r in matrix:
        share[r["a"]] += r["n"] / (2 * n)
        share[r["b"]] += r["n"] / (2 * n)
    observed, expected = sum(r["n"] for r in matrix if r["a"] == r["b"]) / n, sum(p * p for p in share.values())
    return 1.0 if expected >= 1 else round((observed - expected) / (1 - expected), 4)


def _review(conn: duckdb.DuckDBPyConnection, vid: int) -> dict:
    matrix = rows(conn, "card.agreement_matrix", {"version_id": vid})
    pairs = sum(r["n"] for r in matrix)
    keep = sum(r["n"] for r in matrix if (r["a"] == "reject") == (r["b"] == "reject"))
    return {"approval": rows(conn, "card.approval", {"version_id": vid})[0],
            "answers": {r["outcome"]: r["n"] for r in rows(conn, "card.answers", {"version_id": vid})},
            "reviewers": rows(conn, "card.reviewers", {"version_id": vid})[0]["n"],
            "agreement": {"pairs": pairs,
                          "exact": round(sum(r["n"] for r in matrix if r["a"] == r["b"]) / pairs, 4) if pairs else None,
                          "keep_or_reject": round(keep / pairs, 4) if pairs else None,
                          "kappa": _kappa(matrix)},
            "policies": rows(conn, "card.auto_accept_policies", {"version_id": vid})}


def _pii(conn: duckdb.DuckDBPyConnection, vid: int) -> dict:
    items = rows(conn, "card.pii", {"version_id": vid})
    runs = sorted({r["run_id"] for r in items if r["run_id"] is not None})
    sent, stored, scanned = Counter(), Counter(), 0
    with_stored = 0
    for r in items:
        sent.update(f["type"] for f in _json(r["sent"]) or [])
        if r["stored"] is not None:
            scanned += 1
            found = _json(r["stored"]) or []
            stored.update(f["type"] for f in found)
            with_stored += bool(found)
    return {"runs": runs, "policies": [r["policy"] for r in rows(conn, "card.pii_policies", {"run_ids": runs})
                                       if r["policy"]],
            "blocked_chunks": rows(conn, "card.pii_blocked", {"run_ids": runs})[0]["n"] if runs else 0,
            "sent": dict(sorted(sent.items())), "stored": dict(sorted(stored.items())), "scanned": scanned,
            "with_stored": with_stored, "items": len(items)}


def facts(conn: duckdb.DuckDBPyConnection, version: dict) -> dict:
    """Every figure the card states, read from the store for ``version`` (a resolved row)."""
    vid = version["id"]
    dedup = rows(conn, "card.dedup_run", {"run_id": version["dedup_run_id"]}) if version["dedup_run_id"] else []
    return {"sources": rows(conn, "card.by_source", {"version_id": vid}),
            "methods": rows(conn, "card.by_method", {"version_id": vid}),
            "review": _review(conn, vid),
            "dedup": (dedup[0] | {"counts": _json(dedup[0]["counts"])} if dedup else None),
            "exact_duplicates": {r["target"]: r["n"] for r in rows(conn, "card.exact_duplicates", {"version_id": vid})},
            "pii": _pii(conn, vid)}


def data_files(out: Path, fmt: str) -> dict[str, list[str]]:
    """Per split, the files under ``out`` that hold its rows (for an ``hf`` export, the Arrow
    shards, not the ``save_to_disk`` bookkeeping)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        split = rel.split("/")[0] if "/" in rel else rel.split(".")[0]
        if split in SPLITS and (fmt != "hf" or rel.endswith(".arrow")):
            found.setdefault(split, []).append(rel)
    return found


def metadata(version: dict, f: dict, files: dict[str, list[str]], counts: dict[str, int]) -> dict:
    """The YAML header: what the Hub indexes and ``DatasetCard`` validates."""
    licenses = sorted({s["license"] or "unknown" for s in f["sources"]})
    languages = sorted({s["language"] for s in f["sources"] if s["language"]})
    tasks = ["text-generation", *sorted({TASKS[m["method"]] for m in f["methods"] if m["method"] in TASKS})]
    meta: dict = {"license": licenses[0] if len(licenses) == 1 else "other"}
    if len(licenses) > 1:
        meta["license_name"] = "mixed"
        meta["license_details"] = "Each source keeps its own licence: " + ", ".join(licenses) + " (see Sources)."
    if languages:
        meta["language"] = languages
    meta |= {"task_categories": tasks, "size_categories": [size_category(sum(counts.values()))],
             "pretty_name": version["ref"], "tags": ["curator", "sft", "chat"],
             "configs": [{"config_name": "default", "default": True,
                          "data_files": [{"split": s, "path": p} for s in SPLITS for p in files.get(s, [])]}]}
    return meta


def _table(header: list[str], body: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(c) for c in row) + " |" for row in body)]


def _sources(f: dict, counts: dict[str, int]) -> list[str]:
    per: dict[str, dict] = {}
    for r in f["sources"]:
        per.setdefault(r["source"], {"license": r["license"], "language": r["language"]})[r["split"]] = r["n"]
    body = [[name, s["license"] or "not declared", s["language"] or "not declared",
             *(s.get(sp, 0) for sp in SPLITS), sum(s.get(sp, 0) for sp in SPLITS)] for name, s in per.items()]
    total = ["**all**", "", "", *(sum(s.get(sp, 0) for s in per.values()) for sp in SPLITS),
             sum(s.get(sp, 0) for s in per.values() for sp in SPLITS)]
    return ["## Sources", "", "Licences and languages as declared for each source in the store "
            "(`curator.versions.card.describe_source`).", "",
            *_table(["source", "licence", "language", *SPLITS, "total"], [*body, total])]


def _methods(f: dict) -> list[str]:
    per: dict[tuple, Counter] = {}
    for r in f["methods"]:
        per.setdefault((r["kind"], r["method"] or "", r["model"] or ""), Counter())[r["split"]] += r["n"]
    body = [[kind, method or "-", f"`{model}`" if model else "-", *(c[s] for s in SPLITS), sum(c.values())]
            for (kind, method, model), c in per.items()]
    kinds = sorted({k for k, _, _ in per})
    return ["", "## How the examples were made", "",
            "; ".join(f"**{k}**: {KIND_WORDS[k]}" for k in kinds) + ". The method is the extraction recipe, "
            "the synthesis template or the imported record shape; the model is the one that wrote synthetic "
            "examples.", "", *_table(["kind", "method", "model", *SPLITS, "total"], body)]


def _review_lines(f: dict, n: int) -> list[str]:
    r = f["review"]
    a, ans, ag = r["approval"], r["answers"], r["agreement"]
    lines = ["", "## Review", "",
             f"- **Reviewed by people**: {a['reviewed']} of {n} examples ({_pct(a['reviewed'], n)}): "
             f"{a['accepted']} accepted as drafted, {a['edited']} edited by a reviewer (the edit is what this "
             f"dataset holds), {a['adjudicated']} settled by adjudication.",
             f"- **Answers** on these examples, by outcome: " + ", ".join(
                 f"{k} {ans.get(k, 0)}" for k in ("accept", "edit", "reject", "skip"))
             + f", from {r['reviewers']} reviewer(s) (not named here).",
             "- **Agreement** between two reviewers of one example: " + (
                 f"{ag['pairs']} pairs, same outcome {100 * ag['exact']:.1f}%, "
                 f"same keep-or-reject {100 * ag['keep_or_reject']:.1f}%, "
                 f"chance-corrected kappa {ag['kappa']}." if ag["pairs"] else "no example was reviewed twice."),
             f"- **Auto-accepted** by a calibrated judge policy: {a['auto_accepted']} ({_pct(a['auto_accepted'], n)})."]
    for p in r["policies"]:
        audit = (f"its audit sample: {p['audit_accepted']} of {p['audit_reviewed']} accepted by reviewers "
                 f"({_pct(p['audit_accepted'], p['audit_reviewed'])})" if p["audit_reviewed"]
                 else "its audit sample has no reviewed example yet")
        lines.append(f"  - policy {p['id']} (source `{p['source']}`, template `{p['template']}`, judge "
                     f"`{p['model']}`): score >= {p['threshold']}, granted on {p['reviewed']} reviewed examples "
                     f"with accept precision >= {p['precision_lower']:.3f} (target {p['target']}), "
                     f"{100 * p['audit_share']:g}% sent to reviewers as an audit; {audit}"
                     f"{'' if p['enabled'] else '; since switched off'}. {p['in_version']} examples here.")
    lines.append(f"- **Approved with no recorded review or policy** (by hand): {a['unrecorded']} "
                 f"({_pct(a['unrecorded'], n)}).")
    return lines


def _dedup(version: dict, f: dict) -> list[str]:
    lines = ["", "## Deduplication", ""]
    ex = f["exact_duplicates"]
    lines.append(f"- Exact copies skipped at ingest in these sources: {ex.get('example', 0)} examples, "
                 f"{ex.get('document', 0)} documents.")
    d, p = f["dedup"], version["dedup_params"] or {}
    if d:
        lines.append(f"- Near-duplicates: run {version['dedup_run_id']} ({d['engine']}), MinHash over "
                     f"{p.get('shingle')} {p.get('ngram')}-grams, {p.get('num_perm')} permutations (seed "
                     f"{p.get('seed')}), {p.get('bands')} bands x {p.get('rows')} rows, Jaccard >= "
                     f"{p.get('threshold')}: {d['marked']} examples marked duplicates of a kept one and left out "
                     f"(of {(d['counts'] or {}).get('rows_hashed', 'the')} signed).")
    else:
        lines.append("- No near-duplicate run preceded this version: near-duplicates were not removed.")
    return lines


def _pii_lines(f: dict) -> list[str]:
    p = f["pii"]
    lines = ["", "## Personal information", ""]
    if p["runs"]:
        policy = ", ".join(f"`{x}`" for x in p["policies"]) or "not recorded"
        sent = ", ".join(f"{k} {v}" for k, v in p["sent"].items()) or "none"
        lines += [f"- Text sent to a model for synthesis (generation runs {', '.join(map(str, p['runs']))}) passed "
                  f"the PII policy {policy} (`redact`: each value replaced by a placeholder before sending; "
                  f"`block`: not sent; `allow`: sent as is). Found in that text: {sent}; "
                  f"{p['blocked_chunks']} chunks blocked."]
    else:
        lines.append("- No text of this dataset was sent to a model provider for synthesis.")
    stored = ", ".join(f"{k} {v}" for k, v in p["stored"].items()) or "none"
    lines.append(f"- Scanned for PII as stored (Presidio + name rules): {p['scanned']} of {p['items']} examples; "
                 f"{p['with_stored']} of those hold a finding ({stored}). Examples not scanned were "
                 "extracted or imported as the sources gave them.")
    return lines


def _splits(version: dict, counts: dict[str, int], balance: dict | None) -> list[str]:
    g = version.get("grouping") or {}
    rep, ov = g.get("report") or {}, g.get("overlap") or {}
    n = sum(counts.values())
    lines = ["", "## Splits", "", *_table(["split", "examples", "share requested", "share achieved"], [
        [s, counts.get(s, 0), (version["split_spec"] or {}).get(s, ""), (rep.get("achieved") or {}).get(s, _pct(
            counts.get(s, 0), n))] for s in SPLITS]), "",
        f"Examples that must not straddle splits form one group, and a whole group goes to one split (seed "
        f"{version['seed']}, groups ordered by SHA-256 of seed and group key): the same source document or record, "
        "a near-duplicate pair at the dedup threshold, and examples sharing at least "
        f"{ov.get('min_shared', 1)} word {ov.get('ngram', 13)}-grams in their "
        f"{' and '.join(ov.get('fields') or ['response'])} (n-grams in more than {ov.get('boilerplate_share')} of "
        f"the examples or more than {ov.get('boilerplate_count')} of them are boilerplate and ignored)"
        + (f", and the key `{g['group_by']}`" if g.get("group_by") else "") + "."]
    if rep:
        largest = (rep.get("largest") or [{}])[0]
        lines.append(f"{rep.get('groups')} groups ({rep.get('singletons')} of one example); the largest holds "
                     f"{largest.get('examples')} examples; the achieved shares miss the requested ones by at most "
                     f"{rep.get('max_gap_points')} points.")
    chosen = ([f"`--where {version['filter']}`"] if version["filter"] else []) + (
        [f"mean correctness rating >= {version['min_rating']}"] if version["min_rating"] is not None else [])
    if chosen:
        lines.append("Selection: " + ", ".join(chosen) + ".")
    if g.get("stratify_by"):
        cl = g.get("classes") or {}
        lines.append(f"Stratified by `{g['stratify_by']}`: {len(cl.get('classes') or {})} classes, each within "
                     f"{cl.get('max_gap_points')} points of the requested shares in every split.")
    if balance:
        lines.append(f"The train split was rebalanced ({balance.get('method')}, seed {balance.get('seed')}); "
                     "validation and test keep the real distribution.")
    return lines


def _contamination(version: dict) -> list[str]:
    leak = version.get("leakage")
    if not leak:
        return ["", "## Contamination check", "", "Not run: the version is a draft (approval runs it; "
                f"`curator version leakage {version['ref']}` runs it alone)."]
    ov = leak.get("overlap") or {}
    return ["", "## Contamination check", "",
            f"Run at approval on every pair of splits: word-shingle Jaccard >= {leak.get('threshold')} "
            f"({leak.get('shingles')}) and shared word {leak.get('ngram')}-grams (at least "
            f"{ov.get('min_shared', 1)} shared, {leak.get('boilerplate_ngrams_ignored', 0)} boilerplate n-grams "
            f"ignored). Result: **{'clean' if leak.get('clean') else 'not clean'}**, "
            f"{leak.get('n_near_duplicate_pairs', 0)} near-duplicate and {leak.get('n_ngram_pairs', 0)} n-gram pairs "
            "across splits. No check against public benchmarks was run."]


def _limitations(version: dict, f: dict, counts: dict[str, int]) -> list[str]:
    n = sum(counts.values())
    a, p = f["review"]["approval"], f["pii"]
    out = []
    undeclared = sorted({s["source"] for s in f["sources"] if not s["license"]})
    if undeclared:
        out.append(f"No licence was declared for {', '.join(f'`{s}`' for s in undeclared)}: check the terms of "
                   "the original material before redistributing.")
    if not any(s["language"] for s in f["sources"]):
        out.append("No language was declared for any source.")
    synthetic = sum(m["n"] for m in f["methods"] if m["kind"] == "synthetic")
    if synthetic:
        out.append(f"{synthetic} examples ({_pct(synthetic, n)}) were written by a model; review checks them "
                   "against their source, but model errors a reviewer missed remain.")
    if a["auto_accepted"]:
        out.append(f"{a['auto_accepted']} examples were approved by a judge model, not read by a person.")
    if a["unrecorded"]:
        out.append(f"{a['unrecorded']} examples carry no review record (approved by hand).")
    if p["with_stored"]:
        out.append(f"{p['with_stored']} examples hold text the PII scan flags; {p['items'] - p['scanned']} were "
                   "never scanned.")
    elif p["scanned"] < p["items"]:
        out.append(f"{p['items'] - p['scanned']} examples were never scanned for personal information.")
    if counts.get("test", 0) < 100:
        out.append(f"The test split holds {counts.get('test', 0)} examples: metrics on it are noisy.")
    out.append("Splits keep related examples apart as far as the checks above see; paraphrases below their "
               "thresholds can still sit in two splits.")
    return ["", "## Known limitations", "", *(f"- {line}" for line in out)]


def _reproduce(version: dict, fmt: str, hashes: dict[str, str], balance: dict | None) -> list[str]:
    extra = f" --balance {balance['method']} --balance-seed {balance['seed']}" if balance else ""
    return ["", "## Reproducing this export", "",
            f"Version `{version['ref']}` ({version['status']}, approved by {version['approved_by'] or '-'}), "
            f"content hash `{version['content_hash']}` (SHA-256 over every example's messages, split and the "
            "version's parameters). From the curator store that holds it:", "", "```bash",
            f"curator export {version['ref']} --format {fmt}{extra} --out DIR", "```", "",
            "writes these files byte for byte (this card and `manifest.json` included; the manifest lists every "
            "file's SHA-256, and `curator.versions.read_manifest(DIR)` checks them):", "",
            *_table(["file", "sha256"], [[f"`{k}`", f"`{v}`"] for k, v in sorted(hashes.items())]),
            "", "This card is generated from the store by `curator export`; do not edit it by hand."]


def render(version: dict, f: dict, fmt: str, out: Path, counts: dict[str, int], hashes: dict[str, str],
           balance: dict | None = None) -> str:
    """The card's text: YAML metadata between ``---`` lines, then the prose."""
    n = sum(counts.values())
    meta = metadata(version, f, data_files(out, fmt), counts)
    kinds = Counter()
    for m in f["methods"]:
        kinds[m["kind"]] += m["n"]
    made = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
    tasks = [t for t in meta["task_categories"] if t != "text-generation"]
    head = [f"# {version['ref']}", "",
            f"Supervised fine-tuning data for a chat model: {n} conversations ({made}), each a list of "
            "`{role, content}` messages whose assistant turns are what a model learns to write"
            + (f" (tasks: {', '.join(tasks)})" if tasks else "") + f". Exported as `{fmt}` from curator dataset "
            f"version `{version['ref']}`; every example was approved before it entered the version, and the "
            "splits are grouped so related examples never straddle train and test.", ""]
    lines = [*head, *_sources(f, counts), *_methods(f), *_review_lines(f, n), *_dedup(version, f),
             *_pii_lines(f), *_splits(version, counts, balance), *_contamination(version),
             *_limitations(version, f, counts), *_reproduce(version, fmt, hashes, balance)]
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n\n" + \
        "\n".join(lines) + "\n"


def write_card(conn: duckdb.DuckDBPyConnection, version: dict, out: Path, fmt: str, counts: dict[str, int],
               hashes: dict[str, str], balance: dict | None = None) -> str:
    """Write ``README.md`` into the export directory ``out``; returns its text."""
    text = render(version, facts(conn, version), fmt, out, counts, hashes, balance)
    (out / CARD).write_text(text, encoding="utf-8")
    return text
