"""Dataset statistics from the named queries in ``sql/queries/stats.sql``, shared by
`curator stats`, the /stats routes and the stats page."""

from __future__ import annotations

import duckdb
import orjson

from . import lengths
from .sqlfiles import query
from .store import rows as _rows


def overview(conn: duckdb.DuckDBPyConnection) -> dict:
    """Counts of sources, documents, examples by kind and status, rejects by reason, exact duplicates
    skipped, and near-duplicates marked by the latest dedup run of each target."""
    return {
        "totals": _rows(conn, "stats.totals")[0],
        "documents_by_kind": {r["kind"]: r["n"] for r in _rows(conn, "stats.documents_by_kind")},
        "examples_by_kind_status": _rows(conn, "stats.examples_by_kind_status"),
        "rejects_by_reason": {r["code"]: r["n"] for r in _rows(conn, "stats.rejects_by_reason")},
        "duplicates_skipped": {r["target"]: r["n"] for r in _rows(conn, "stats.duplicates_by_target")},
        "by_source": _rows(conn, "stats.by_source"),
        "near_duplicates": _rows(conn, "stats.near_duplicates"),
    }


def sources(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    return _rows(conn, "stats.sources")


# --- stewards' report (issue 6) -----------------------------------------------------------------

BIN_LABELS = ["0-31"] + [f"{2 ** (k + 4)}-{2 ** (k + 5) - 1}" for k in range(1, 10)] + ["16384+"]


def _bins(hist: dict | None) -> list[dict]:
    """DuckDB's ``histogram`` map -> every bin from 0 up to the highest non-empty one."""
    hist = hist or {}
    top = max(hist, default=-1)
    return [{"bin": BIN_LABELS[b], "n": int(hist.get(b, 0))} for b in range(top + 1)]


def _length_section(row: dict, ctr: lengths.Counter, max_seq_len: int) -> dict:
    roles = {}
    for role in (*lengths.ROLES, "total"):
        q = row[f"{role}_q"] or [None, None, None]
        roles[role] = {"histogram": _bins(row[f"{role}_bins"]), "p50": q[0], "p90": q[1], "p99": q[2],
                       "max": row[f"{role}_max"]}
    return {"unit": ctr.label, "tokenizer": ctr.key, "examples": row["examples"], "max_seq_len": max_seq_len,
            "over_max_seq_len": row["over_max_seq_len"], "roles": roles}


def _rollup(rows: list[dict], key: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for r in rows:
        totals[r[key]] = totals.get(r[key], 0) + r["n"]
    return dict(sorted(totals.items()))


def _kappa(matrix: list[dict]) -> float | None:
    """Chance-corrected agreement of two verdicts per pair (Scott's pi, i.e. Fleiss' kappa with two
    ratings per item: the pairs are unordered, so both ratings share one verdict distribution)."""
    n = sum(r["n"] for r in matrix)
    if not n:
        return None
    observed = sum(r["n"] for r in matrix if r["a"] == r["b"]) / n
    share: dict[str, float] = {}
    for r in matrix:
        share[r["a"]] = share.get(r["a"], 0) + r["n"] / (2 * n)
        share[r["b"]] = share.get(r["b"], 0) + r["n"] / (2 * n)
    expected = sum(p * p for p in share.values())
    return 1.0 if expected >= 1 else round((observed - expected) / (1 - expected), 4)


def reviews(conn: duckdb.DuckDBPyConnection) -> dict:
    """Reviewer throughput and agreement, counted by outcome (``review_counts.*``, the queries
    `curator review status` reads too, so the two never disagree on what an answer did)."""
    pairs = _rows(conn, "review_counts.agreement_pairs")
    n = sum(p["pairs"] for p in pairs)
    reviewers = [{k: v for k, v in r.items() if k != "project"}
                 for r in _rows(conn, "review_counts.by_reviewer", {"by_project": False})]
    return {
        "reviewers": reviewers,
        "agreement": {"pairs": n,
                      "verdict": round(sum(p["agree"] for p in pairs) / n, 4) if n else None,
                      "keep_or_reject": round(sum(p["agree_keep"] for p in pairs) / n, 4) if n else None,
                      "kappa": _kappa(_rows(conn, "review_counts.agreement_matrix")),
                      "by_pair": [p | {"rate": round(p["agree"] / p["pairs"], 4)} for p in pairs]},
        "outcomes": _rows(conn, "stats.outcomes"),
    }


def rejections(conn: duckdb.DuckDBPyConnection) -> dict:
    """Why examples were turned down: reviewers' reason codes, and ingest's reject codes."""
    return {"review": {r["reason"]: r["n"] for r in _rows(conn, "review_counts.reasons")},
            "ingest": {r["code"]: r["n"] for r in _rows(conn, "stats.rejects_by_reason")}}


def rejected_examples(conn: duckdb.DuckDBPyConnection, limit: int = 100, offset: int = 0) -> dict:
    """One page of rejected examples with the reasons, comments and reviewers that rejected them
    (the steward's list; read live, it is not part of the cached report)."""
    return {"total": _rows(conn, "stats.rejected_count")[0]["n"], "limit": limit, "offset": offset,
            "items": _rows(conn, "stats.rejected_examples", {"limit": limit, "offset": offset})}


STATUSES = ("candidate", "in_review", "approved", "rejected")


def progress_by_source(rows: list[dict]) -> list[dict]:
    """Examples per source and status, one row per source with a column per status, pivoted from
    ``stats.examples_by_source_kind_status``: clinical and support work told apart at a glance."""
    table: dict[str, dict] = {}
    for r in rows:
        row = table.setdefault(r["source"], {"source": r["source"], **dict.fromkeys(STATUSES, 0), "examples": 0})
        row[r["status"]] += r["n"]
        row["examples"] += r["n"]
    return [table[s] for s in sorted(table)]


def quality(conn: duckdb.DuckDBPyConnection) -> dict:
    """The quality filters' funnel: examples checked, flagged, kept, and per rule how many its
    current flags remove (an example may carry several, so the rules can add up to more)."""
    return _rows(conn, "quality.funnel")[0] | {
        "by_rule": {r["rule"]: r["examples"] for r in _rows(conn, "quality.funnel_by_rule")}}


def versions(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every version with its split counts and the generation cost behind its items."""
    costs = {r.pop("version_id"): r for r in _rows(conn, "stats.version_costs")}
    none = {"runs": 0, "synthetic_items": 0, "runs_cost_usd": 0.0, "attributed_cost_usd": 0.0}
    return [v | {"split_spec": orjson.loads(v["split_spec"]), "counts": orjson.loads(v["counts"]),
                 "generation": costs.get(v["id"], none)}
            for v in _rows(conn, "stats.versions")]


def _uncached(ctr: lengths.Counter, cached: bool) -> bool:
    """Recompute from the messages only when asked to and when SQL can (characters)."""
    return not cached and ctr.count is None


def _length_summary(conn: duckdb.DuckDBPyConnection, source: str, params: dict) -> dict:
    """The one length aggregate (``stats.length_aggregate``) over the per-example lengths that the
    named ``stats.<source>`` query yields: cached or recomputed, store or version."""
    sql = f"WITH l AS ({query('stats.' + source)}) {query('stats.length_aggregate')}"
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        return dict(zip(columns, cursor.fetchone()))


def store_lengths(conn: duckdb.DuckDBPyConnection, tokenizer: str | None = None, max_seq_len: int = 4096,
                  cached: bool = True) -> dict:
    """Lengths by role over every example: histograms, percentiles, how many exceed ``max_seq_len``."""
    ctr = lengths.counter(tokenizer)
    if _uncached(ctr, cached):
        row = _length_summary(conn, "length_rows_uncached", {"max_seq_len": max_seq_len})
    else:
        lengths.refresh_examples(conn, ctr)
        row = _length_summary(conn, "length_rows", {"tokenizer": ctr.key, "max_seq_len": max_seq_len})
    return _length_section(row, ctr, max_seq_len)


def _plain(obj) -> dict:
    """The JSON form (datetimes as ISO strings): what a snapshot reads back, so a report looks the
    same whether it was computed now or read from the store."""
    return orjson.loads(orjson.dumps(obj, default=str))


# Part of every snapshot's fingerprint: a report of an older shape (or counted another way, as
# reviews were by button before outcomes) is computed again after an upgrade, not served as is.
REPORT_FORMAT = "2"


def _snapshot(conn: duckdb.DuckDBPyConnection, scope: str, tokenizer_key: str, max_seq_len: int, compute) -> dict:
    """``compute()``'s report, or the stored one when the store's fingerprint has not moved since.

    The fingerprint is read before computing, so a change racing the computation leaves an older
    fingerprint behind and the next call computes again (never a stale report under a new one)."""
    key = {"scope": scope, "tokenizer": tokenizer_key, "max_seq_len": max_seq_len}
    with conn.cursor() as cur:
        fingerprint = f"{REPORT_FORMAT}:{cur.execute(query('stats.fingerprint')).fetchone()[0]}"
        found = cur.execute(query("stats.snapshot_get"), key).fetchone()
    if found and found[0] == fingerprint:
        return orjson.loads(found[1])
    report = _plain(compute())
    _keep(conn, "stats.snapshot_put", key | {"fingerprint": fingerprint, "report": orjson.dumps(report).decode()})
    return report


def _keep(conn: duckdb.DuckDBPyConnection, name: str, params: dict) -> None:
    """Store a computed report. Only stats write these tables, and without the store's WRITE_LOCK
    (a long ingest holds it); two requests storing the same key at once conflict in DuckDB, and
    then the loser's copy, identical or older, is simply not kept."""
    try:
        with conn.cursor() as cur:
            cur.execute(query(name), params)
    except (duckdb.TransactionException, duckdb.ConstraintException):
        pass


def cached_overview(conn: duckdb.DuckDBPyConnection, cached: bool = True) -> dict:
    """``overview`` through a snapshot (GET /stats)."""
    if not cached:
        return _plain(overview(conn))
    return _snapshot(conn, "overview", "", 0, lambda: overview(conn))


def _store_report(conn: duckdb.DuckDBPyConnection, tokenizer: str | None, max_seq_len: int, cached: bool) -> dict:
    by = _rows(conn, "stats.examples_by_source_kind_status")
    return {
        "scope": "store",
        "counts": {"by_source": _rollup(by, "source"), "by_kind": _rollup(by, "kind"),
                   "by_status": _rollup(by, "status"), "by_source_status": progress_by_source(by), "rows": by},
        "lengths": store_lengths(conn, tokenizer, max_seq_len, cached),
        "funnel": _rows(conn, "stats.funnel")[0],
        "quality": quality(conn),
        "rejections": rejections(conn),
        "reviews": reviews(conn),
        "duplicates": _rows(conn, "stats.duplicates_removed")[0] | _rows(conn, "stats.approved_duplicates")[0],
        "generation": _rows(conn, "stats.generation_cost")[0],
        "versions": versions(conn),
    }


def store_report(conn: duckdb.DuckDBPyConnection, tokenizer: str | None = None, max_seq_len: int = 4096,
                 cached: bool = True) -> dict:
    """Everything a steward checks before cutting a version, over the whole store, kept as a
    snapshot until the store changes. ``cached=False`` computes it from scratch, character
    lengths recomputed from the messages (slow at scale; a cross-check of the caches)."""
    ctr = lengths.counter(tokenizer)
    if not cached:
        return _plain(_store_report(conn, tokenizer, max_seq_len, cached))
    return _snapshot(conn, "store", ctr.key, max_seq_len, lambda: _store_report(conn, tokenizer, max_seq_len, True))


def version_report(conn: duckdb.DuckDBPyConnection, ref: str, tokenizer: str | None = None,
                   max_seq_len: int = 4096, cached: bool = True) -> dict:
    """One version's counts by source, kind and split, lengths and generation cost. A version
    never changes, so its report is computed once per tokenizer and limit and then read back
    (``cached=False``: computed from the items every time, character lengths included)."""
    from .versions.refs import resolve

    version = resolve(conn, ref, verify=False)
    ctr = lengths.counter(tokenizer)
    key = {"version_id": version["id"], "tokenizer": ctr.key, "max_seq_len": max_seq_len}
    uncached = _uncached(ctr, cached)
    if not uncached:
        found = _rows(conn, "stats.version_stats_get", key)
        if found:
            return orjson.loads(found[0]["stats"])
        lengths.refresh_version(conn, ctr, version["id"])
    length_row = _length_summary(conn, "version_length_rows_uncached" if uncached else "version_length_rows",
                                 {"version_id": version["id"], "max_seq_len": max_seq_len} if uncached else key)
    by = _rows(conn, "stats.version_items_by_source_kind_split", {"version_id": version["id"]})
    report = {
        "scope": "version",
        "version": version["ref"],
        "version_id": version["id"],
        "counts": {"by_source": _rollup(by, "source"), "by_kind": _rollup(by, "kind"),
                   "by_split": _rollup(by, "split"), "rows": by},
        "lengths": _length_section(length_row, ctr, max_seq_len),
        "generation": _rows(conn, "stats.version_cost", {"version_id": version["id"]})[0],
        # the class distribution per split and its warnings, as `version create --stratify-by` measured them
        "classes": (version.get("grouping") or {}).get("classes"),
    }
    report = _plain(report)
    if not uncached:
        _keep(conn, "stats.version_stats_put", key | {"stats": orjson.dumps(report).decode()})
    return report


def report(conn: duckdb.DuckDBPyConnection, version: str | None = None, tokenizer: str | None = None,
           max_seq_len: int = 4096, cached: bool = True) -> dict:
    if version:
        return version_report(conn, version, tokenizer, max_seq_len, cached)
    return store_report(conn, tokenizer, max_seq_len, cached)
