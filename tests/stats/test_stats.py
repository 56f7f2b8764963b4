"""`curator stats` for stewards on real corpora with planted review, dedup, generation and version
rows: every number is derived here from the planted rows and the stored messages, not from the
stats SQL. Also: token lengths under a real (locally trained) tokenizer, the length cache refresh
when examples arrive, and a version's cached report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from conftest import copy_store, run_curator, run_json
from stats_store import bin_label, build, char_lengths


@pytest.fixture(scope="module")
def planted(tmp_path_factory, shared_data):
    return build(tmp_path_factory.mktemp("stats"), shared_data)


@pytest.fixture
def store(planted, tmp_path):
    """A private copy of the planted store (tests that add rows do not disturb the others)."""
    return type(planted)(**{**planted.__dict__, "root": tmp_path, "env": copy_store(planted.root, tmp_path)})


def _messages(db: Path, sql: str) -> dict[int, list[dict]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return {i: json.loads(m) for i, m in conn.execute(sql).fetchall()}


def _histogram(values: list[int]) -> list[dict]:
    """The expected bins, in order, up to the highest non-empty one (empty ones in between kept)."""
    labels = ["0-31"] + [f"{32 * 2 ** k}-{64 * 2 ** k - 1}" for k in range(9)] + ["16384+"]
    seen = Counter(bin_label(v) for v in values)
    top = max(labels.index(b) for b in seen)
    return [{"bin": b, "n": seen.get(b, 0)} for b in labels[: top + 1]]


def test_store_counts_lengths_reviews_duplicates_and_cost(store):
    report = run_json(["stats", "--max-seq-len", "1500"], store.env)
    db = store.root / "curator.duckdb"
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("SELECT s.name, e.kind, e.status FROM examples e JOIN sources s ON s.id = e.source_id"
                            ).fetchall()
    # counts by source, kind, status
    assert report["counts"]["by_status"] == dict(sorted(Counter(r[2] for r in rows).items()))
    assert report["counts"]["by_status"]["approved"] == len(store.approved)
    assert report["counts"]["by_status"]["rejected"] == len(store.rejected)
    assert report["counts"]["by_kind"] == dict(sorted(Counter(r[1] for r in rows).items()))
    assert report["counts"]["by_source"] == dict(sorted(Counter(r[0] for r in rows).items()))
    assert set(report["counts"]["by_kind"]) == {"imported", "extracted"}
    # lengths by role, in characters, against Python's len() over the stored messages
    lengths = [char_lengths(m) for m in _messages(db, "SELECT id, messages FROM examples").values()]
    got = report["lengths"]
    assert got["unit"] == "characters" and got["examples"] == len(rows) == len(lengths)
    assert got["over_max_seq_len"] == sum(1 for x in lengths if x["total"] > 1500) > 0
    for role in ("user", "assistant", "total"):
        values = sorted(x[role] for x in lengths if x[role] > 0 or role == "total")
        assert got["roles"][role]["histogram"] == _histogram(values), role
        assert got["roles"][role]["max"] == values[-1]
        assert values[(len(values) - 1) // 2] <= got["roles"][role]["p50"] <= values[len(values) // 2]
    assert got["roles"]["system"]["histogram"] == []  # neither corpus has system messages
    # funnel: four of the five reviewed examples have a current verdict (example 3's only answer was deleted)
    assert report["funnel"] == {"examples": len(rows), "reviewed": 4, "approved": len(store.approved),
                                "rejected": sum(1 for r in rows if r[2] == "rejected"),
                                "in_version": len(store.approved)}
    # rejection reasons: current verdicts only (the update replaced 'unsafe', the deletion removed 'pii')
    assert report["rejections"]["review"] == {"hallucination": 2, "off_topic": 1}
    # reviewers: ana has 4 current annotations (the deleted one gone), ben 3, cy 2 (one adjudication)
    by = {r["reviewer"]: r for r in report["reviews"]["reviewers"]}
    assert {k: (v["reviews"], v["accepted"], v["edited"], v["rejected"], v["adjudications"]) for k, v in by.items()} \
        == {"ana@x": (4, 2, 1, 1, 0), "ben@x": (3, 1, 1, 1, 0), "cy@x": (2, 0, 1, 1, 1)}
    assert by["ana@x"]["active_days"] == 2 and by["ana@x"]["reviews_per_active_day"] == 2.0
    assert by["ben@x"]["active_days"] == 2 and by["ben@x"]["reviews_per_active_day"] == 1.5
    assert by["ana@x"]["median_seconds"] == 40.0  # her current rows have lead times 10, 30, 50, 110 s
    # agreement: pairs on examples 0 (accept/accept), 1 (reject/edit), 2 (accept/reject), 4 (edit/edit)
    agreement = report["reviews"]["agreement"]
    assert agreement["pairs"] == 4 and agreement["verdict"] == 0.5 and agreement["keep_or_reject"] == 0.5
    # chance-corrected: verdicts accept 3, edit 3, reject 2 of 8 -> expected 0.34375; (0.5 - e) / (1 - e)
    assert agreement["kappa"] == pytest.approx(5 / 21, abs=1e-4)
    assert {(p["reviewer_a"], p["reviewer_b"]): (p["pairs"], p["agree"]) for p in agreement["by_pair"]} \
        == {("ana@x", "ben@x"): (3, 1), ("ana@x", "cy@x"): (1, 1)}
    # duplicates removed: the planted decisions; approved ones among them are left out of versions
    assert report["duplicates"]["near_duplicate_examples"] == len(store.duplicates)
    assert report["duplicates"]["approved_duplicates"] == len(set(store.duplicates) & set(store.approved))
    assert report["generation"]["runs"] == 2 and report["generation"]["cost_usd"] == pytest.approx(1.75)
    # the overview of v0 is still there (README's first command reads totals)
    assert report["totals"]["examples"] == len(rows)
    assert [f"{v['name']}@{v['number']}" for v in report["versions"]] == ["support@1"]
    first, second = store.runs.values()
    assert report["versions"][0]["generation"]["attributed_cost_usd"] == pytest.approx(first * 20 / 30 + second)
    assert report["versions"][0]["counts"] == dict(Counter(store.splits.values()))


def test_version_counts_splits_edited_lengths_and_cost(store):
    report = run_json(["stats", "--version", "support@1"], store.env)
    assert report["scope"] == "version" and report["version"] == "support@1"
    assert report["counts"]["by_split"] == dict(sorted(Counter(store.splits.values()).items()))
    assert sum(report["counts"]["by_source"].values()) == len(store.approved)
    # lengths come from the frozen (edited) items, not from the examples
    items = _messages(store.root / "curator.duckdb", "SELECT example_id, messages FROM dataset_items")
    assistant = sorted(char_lengths(m)["assistant"] for m in items.values())
    assert report["lengths"]["roles"]["assistant"]["max"] == assistant[-1] == 9000
    assert report["lengths"]["roles"]["assistant"]["histogram"] == _histogram([a for a in assistant if a > 0])
    # cost: run 1 made 30 examples (20 in the version), run 2 made 10 (all in the version)
    first, second = store.runs.values()
    assert report["generation"]["runs"] == 2 and report["generation"]["synthetic_items"] == 30
    assert report["generation"]["runs_cost_usd"] == pytest.approx(first + second)
    assert report["generation"]["attributed_cost_usd"] == pytest.approx(first * 20 / 30 + second)
    # computed once, then read back unchanged
    assert run_json(["stats", "--version", "support@1"], store.env) == report
    with store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM version_stats").fetchone()[0] == 1


@pytest.mark.slow
def test_length_cache_follows_new_examples(store, shared_data, tmp_path):
    first = run_json(["stats"], store.env)["lengths"]
    extra = tmp_path / "extra.jsonl"
    extra.write_text("\n".join(json.dumps({"messages": [{"role": "system", "content": "Be brief."},
                                                        {"role": "user", "content": f"question {i}"},
                                                        {"role": "assistant", "content": "x" * (100 + i)}]})
                               for i in range(5)) + "\n")
    run_curator(["ingest", str(extra), "--source", "extra"], store.env)
    second = run_json(["stats"], store.env)["lengths"]
    assert second["examples"] == first["examples"] + 5
    assert [b["n"] for b in second["roles"]["system"]["histogram"]] == [5]
    with store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM example_lengths").fetchone()[0] == second["examples"]


@pytest.mark.slow
def test_token_lengths_under_a_local_tokenizer(store, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    db = store.root / "curator.duckdb"
    messages = _messages(db, "SELECT id, messages FROM examples")
    texts = [m["content"] for ms in messages.values() for m in ms]
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts[:2000], trainers.WordLevelTrainer(special_tokens=["[UNK]"], vocab_size=5000))
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    report = run_json(["stats", "--tokenizer", str(path), "--max-seq-len", "300"], store.env)["lengths"]
    expected = [{r: sum(len(tok.encode(m["content"]).ids) for m in ms if m["role"] == r)
                 for r in ("user", "assistant")} for ms in messages.values()]
    totals = sorted(e["user"] + e["assistant"] for e in expected)
    assert report["unit"] == "tokens (tokenizer.json)" and report["tokenizer"].startswith("tok:")
    assert report["roles"]["total"]["max"] == totals[-1]
    assert report["roles"]["assistant"]["histogram"] == _histogram([e["assistant"] for e in expected
                                                                    if e["assistant"] > 0])
    assert report["over_max_seq_len"] == sum(1 for t in totals if t > 300)
    items = _messages(db, "SELECT example_id, messages FROM dataset_items")
    version = run_json(["stats", "--version", "support@1", "--tokenizer", str(path)], store.env)["lengths"]
    item_totals = sorted(sum(len(tok.encode(m["content"]).ids) for m in ms) for ms in items.values())
    assert version["unit"] == report["unit"] and version["examples"] == len(items)
    assert version["roles"]["total"]["max"] == item_totals[-1]
    assert version["roles"]["total"]["histogram"] == _histogram(item_totals)
    chars = run_json(["stats"], store.env)["lengths"]
    assert chars["unit"] == "characters" and chars["roles"]["total"]["max"] > report["roles"]["total"]["max"]
    with store.connect() as conn:
        assert dict(conn.execute("SELECT tokenizer LIKE 'tok:%', count(*) FROM example_lengths GROUP BY ALL")
                    .fetchall()) == {True: len(messages), False: len(messages)}


@pytest.mark.parametrize("args,message", [
    (["--version", "support"], "expected a version as NAME@N"),
    (["--version", "nope@1"], "no dataset version nope@1"),
    (["--tokenizer", "/nonexistent/tok.json"], "no such file"),
])
def test_bad_options_are_one_line_errors(store, args, message):
    proc = run_curator(["stats", *args], store.env, check=False)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_cached_lengths_match_a_recomputation_from_the_messages(store):
    """The caches (example_lengths, item_lengths, version_stats) against CURATOR_STATS_CACHE=false,
    which recomputes every length from the messages on each call."""
    fresh = dict(store.env, CURATOR_STATS_CACHE="false")
    for args in (["stats", "--max-seq-len", "900"], ["stats", "--version", "support@1", "--max-seq-len", "900"]):
        cached = run_json(args, store.env)
        again = run_json(args, store.env)
        recomputed = run_json(args, fresh)
        assert cached["lengths"] == again["lengths"] == recomputed["lengths"]
        assert cached["counts"] == recomputed["counts"]


@pytest.mark.slow
def test_store_snapshot_is_reused_until_the_store_changes(store):
    first = run_json(["stats"], store.env)
    with store.connect() as conn:
        taken = conn.execute("SELECT fingerprint, created_at FROM stats_snapshots WHERE scope = 'store'").fetchall()
    assert run_json(["stats"], store.env) == first
    with store.connect() as conn:
        assert conn.execute("SELECT fingerprint, created_at FROM stats_snapshots WHERE scope = 'store'"
                            ).fetchall() == taken, "an unchanged store is answered from its snapshot"
        # a state change as the review step makes it: the status moves and audit_log records it
        from curator.audit import record_audit

        candidate = conn.execute("SELECT min(id) FROM examples WHERE status = 'candidate'").fetchone()[0]
        conn.execute("UPDATE examples SET status = 'approved' WHERE id = ?", [candidate])
        record_audit(conn, "test", "review.outcome", f"example:{candidate}", {"verdict": "accept"})
    after = run_json(["stats"], store.env)
    assert after["counts"]["by_status"]["approved"] == first["counts"]["by_status"]["approved"] + 1
    assert after["funnel"]["approved"] == first["funnel"]["approved"] + 1
    # a new dedup run (no decisions yet: nothing is a duplicate any more) changes it too
    with store.connect() as conn:
        conn.execute("INSERT INTO dedup_runs (id, target, params_key, params, engine, actor, counts) "
                     "VALUES (nextval('dedup_run_id_seq'), 'example', 'k2', '{}', 'local', 'test', '{}')")
    assert run_json(["stats"], store.env)["duplicates"]["near_duplicate_examples"] == 0


def test_stats_do_not_queue_behind_a_running_ingest(store):
    """The service's ingest holds the store's WRITE_LOCK for a whole batch; stats (which write only
    their own caches) must still answer, caches included, while it is held."""
    from concurrent.futures import ThreadPoolExecutor

    from curator import stats
    from curator.store import WRITE_LOCK, open_store

    conn = open_store(store.root / "curator.duckdb")
    try:
        with WRITE_LOCK, ThreadPoolExecutor(2) as pool:
            store_report = pool.submit(stats.store_report, conn.cursor(), None, 2048)
            version_report = pool.submit(stats.version_report, conn.cursor(), "support@1", None, 2048)
            assert store_report.result(timeout=60)["lengths"]["max_seq_len"] == 2048
            assert version_report.result(timeout=60)["version"] == "support@1"
        kept = conn.execute("SELECT count(*) FROM stats_snapshots WHERE max_seq_len = 2048").fetchone()[0]
        assert kept == 1
    finally:
        conn.close()
