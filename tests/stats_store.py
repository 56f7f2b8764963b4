"""A store for the stats tests: real corpora ingested with the real CLI (bitext-support as
imported chat examples, mts-dialog's validation set as transcripts turned into note examples),
then review history, generation runs, a dedup run and a dataset version planted in SQL, as the
review, synthesis, dedup and version steps would have written them. ``Planted`` keeps what was
planted so tests can derive every expected number from it."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from conftest import make_env, run_curator

BITEXT = "bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv"
MTS = "mts-dialog/Main-Dataset/MTS-Dialog-ValidationSet.csv"

# (annotation, example index, reviewer, verdict, reasons, adjudication, event): rows in history order.
# Each is planted with its outcome equal to its verdict (an edit here is one that changed the text).
REVIEWS = [
    (1, 0, "ana@x", "accept", [], False, "created"),
    (2, 0, "ben@x", "accept", [], False, "created"),
    (3, 1, "ana@x", "reject", ["off_topic"], False, "created"),
    (4, 1, "ben@x", "edit", [], False, "created"),
    (5, 2, "ana@x", "accept", [], False, "created"),
    (6, 2, "ben@x", "reject", ["unsafe", "hallucination"], False, "created"),
    (6, 2, "ben@x", "reject", ["hallucination"], False, "updated"),      # newest row counts
    (7, 2, "cy@x", "reject", ["hallucination"], True, "created"),        # adjudication
    (8, 3, "ana@x", "reject", ["pii"], False, "created"),
    (8, 3, "ana@x", "reject", ["pii"], False, "deleted"),                # deleted: not counted
    (9, 4, "ana@x", "edit", [], False, "created"),
    (10, 4, "cy@x", "edit", [], False, "created"),
]


@dataclass
class Planted:
    root: Path
    env: dict
    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    splits: dict[int, str] = field(default_factory=dict)
    edited: dict[int, str] = field(default_factory=dict)
    runs: dict[int, float] = field(default_factory=dict)       # run id -> cost
    run_of: dict[int, int] = field(default_factory=dict)       # example id -> run id
    review_examples: list[int] = field(default_factory=list)

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.root / "curator.duckdb"))


def build(root: Path, shared: Path) -> Planted:
    env = make_env(root)
    run_curator(["ingest", str(shared / BITEXT), str(shared / MTS)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    planted = Planted(root, env)
    with planted.connect() as conn:
        ids = [i for (i,) in conn.execute("SELECT id FROM examples ORDER BY id").fetchall()]
        planted.approved = ids[::3][:600]
        planted.rejected = [i for i in ids[1::7] if i not in set(planted.approved)][:200]
        planted.duplicates = ids[2::50][:20]
        planted.review_examples = ids[1000:1005]
        conn.execute("UPDATE examples SET status = 'approved' WHERE id IN (SELECT unnest($ids))", {"ids": planted.approved})
        conn.execute("UPDATE examples SET status = 'rejected' WHERE id IN (SELECT unnest($ids))", {"ids": planted.rejected})
        for i, (ann, ex, reviewer, verdict, reasons, adj, event) in enumerate(REVIEWS):
            conn.execute(
                "INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, received_via, "
                "is_adjudication, reviewer, verdict, outcome, reasons, lead_time, annotation_updated_at, payload_hash) "
                "VALUES (?, 1, ?, ?, ?, 'webhook', ?, ?, ?, ?, ?, ?, TIMESTAMPTZ '2026-11-20 10:00:00+00' + "
                "INTERVAL (?) DAY, ?)",
                [planted.review_examples[ex], 100 + ex, ann, event, adj, reviewer, verdict, verdict,
                 json.dumps(reasons), 10.0 * (i + 1), ann // 5, f"h{i}"])
        # a dedup run over examples marking some as duplicates of their predecessor
        conn.execute("INSERT INTO dedup_runs (id, target, params_key, params, engine, actor, counts) "
                     "VALUES (nextval('dedup_run_id_seq'), 'example', 'k', '{}', 'local', 'test', '{}')")
        run_id = conn.execute("SELECT max(id) FROM dedup_runs").fetchone()[0]
        for d in planted.duplicates:
            conn.execute("INSERT INTO dedup_decisions (run_id, target, row_id, cluster_id, decision, duplicate_of, "
                         "jaccard, rule) VALUES (?, 'example', ?, ?, 'duplicate', ?, 0.9, 'test')",
                         [run_id, d, d - 1, d - 1])
        # two generation runs; some approved examples say they came from them
        for cost in (1.25, 0.5):
            rid = conn.execute("INSERT INTO generation_runs (base_url, model, params, cost_usd, status) "
                               "VALUES ('http://x', 'm', '{}', ?, 'finished') RETURNING id", [cost]).fetchone()[0]
            planted.runs[rid] = cost
        first, second = planted.runs
        for i, ex in enumerate(planted.approved[:30]):
            planted.run_of[ex] = first if i < 20 else second
        for ex in ids[-10:]:  # run 1 also made 10 examples that are not in the version
            planted.run_of[ex] = first
        for ex, rid in planted.run_of.items():
            conn.execute("UPDATE examples SET generation_run_id = ? WHERE id = ?", [rid, ex])
        # version support@1: the approved examples, by id modulo 10 into splits; two items edited
        planted.splits = {ex: {0: "test", 1: "validation"}.get(ex % 10, "train") for ex in planted.approved}
        counts = {s: list(planted.splits.values()).count(s) for s in ("train", "validation", "test")}
        conn.execute("INSERT INTO dataset_versions (name, number, split_spec, seed, counts, content_hash, created_by) "
                     "VALUES ('support', 1, '{\"train\": 0.8, \"validation\": 0.1, \"test\": 0.1}', 7, ?, 'c0ffee', "
                     "'cli:test')", [json.dumps(counts)])
        vid = conn.execute("SELECT id FROM dataset_versions WHERE name = 'support'").fetchone()[0]
        planted.edited = {planted.approved[0]: "E" * 9000, planted.approved[1]: "short edit"}
        for ex in planted.approved:
            split = planted.splits[ex]
            msgs = json.loads(conn.execute("SELECT messages FROM examples WHERE id = ?", [ex]).fetchone()[0])
            if ex in planted.edited:
                msgs = [m if m["role"] != "assistant" else {"role": "assistant", "content": planted.edited[ex]}
                        for m in msgs]
            conn.execute("INSERT INTO dataset_items (version_id, example_id, split, group_key, messages, example_hash) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         [vid, ex, split, f"g{ex}", json.dumps(msgs), f"h{ex}"])
    return planted


def char_lengths(messages: list[dict]) -> dict[str, int]:
    """Independent of the SQL: per-role character sums, Python's len()."""
    out = {r: sum(len(m["content"]) for m in messages if m["role"] == r) for r in ("system", "user", "assistant")}
    return out | {"total": sum(len(m["content"]) for m in messages)}


def bin_label(n: int) -> str:
    edges = [32 * 2 ** k for k in range(10)]  # 32 .. 16384
    if n < 32:
        return "0-31"
    if n >= 16384:
        return "16384+"
    k = max(i for i, e in enumerate(edges) if n >= e)
    return f"{edges[k]}-{edges[k + 1] - 1}"


@contextmanager
def serving(root: Path, shared: Path, **env: str):
    """The planted store, served by the real `curator serve` with a key of each role."""
    from service_fixture import serving_with_keys

    build(root, shared)
    with serving_with_keys(root, **env) as svc:
        yield svc
