"""`curator triage filter` on real corpora through the real CLI: flags are stored per example
with their reasons, the stats funnel counts each rule, and review push leaves flagged
candidates out unless asked (the query push runs, on the real store)."""

from __future__ import annotations

import duckdb
import orjson
import pytest

from conftest import query, run_curator, run_json

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

BITEXT = "bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv"
MTS = "mts-dialog/Main-Dataset/MTS-Dialog-ValidationSet.csv"


@pytest.fixture(scope="module")
def store(tmp_path_factory, shared_data):
    from conftest import make_env

    env = make_env(tmp_path_factory.mktemp("triage"))
    run_curator(["ingest", str(shared_data / BITEXT), str(shared_data / MTS)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    return env, run_json(["triage", "filter"], env)


# Every source and kind, in id order (the push selection left open).
ANY = {"sources": None, "kinds": None, "order": "id", "seed": 0}


def test_filter_flags_each_example_with_reasons(store):
    env, report = store
    (examples,) = query(env, "SELECT count(*) FROM examples WHERE status IN ('candidate', 'in_review')")[0]
    assert report["examples"] == examples and report["kept"] == examples - report["flagged"]
    bitext_slots = query(env, "SELECT count(*) FROM examples e JOIN sources s ON s.id = e.source_id "
                              "WHERE s.name LIKE 'Bitext%' AND e.messages->>'$[1].content' LIKE '%{{%}}%'")[0][0]
    assert bitext_slots > 1000 and report["by_rule"]["placeholder"] == bitext_slots
    stored = query(env, "SELECT rule, count(DISTINCT example_id) FROM quality_flags GROUP BY rule")
    assert {r: n for r, n in stored} == {r: n for r, n in report["by_rule"].items() if n}
    reason, value = query(env, "SELECT reason, value FROM quality_flags WHERE rule = 'placeholder' LIMIT 1")[0]
    assert "unfilled placeholder" in reason and int(value) >= 1


def test_stats_funnel_shows_each_rule(store):
    env, report = store
    stats = run_json(["stats"], env)["quality"]
    assert stats["checked"] == report["examples"] and stats["flagged"] == report["flagged"]
    assert stats["by_rule"] == {r: n for r, n in report["by_rule"].items() if n}
    text = run_curator(["stats"], env).stdout
    assert "quality filters" in text and "placeholder" in text


def test_rerun_replaces_the_decision_and_keeps_history(store):
    env, first = store
    second = run_json(["triage", "filter", "--skip", "placeholder"], env)
    assert second["run_id"] == first["run_id"] + 1 and "placeholder" not in second["by_rule"]
    assert run_json(["stats"], env)["quality"]["by_rule"].get("placeholder") is None
    assert query(env, f"SELECT count(*) FROM quality_flags WHERE run_id = {first['run_id']}")[0][0] > 0  # kept
    run_json(["triage", "filter"], env)  # back to all rules for the tests that follow


def test_push_leaves_flagged_candidates_out_unless_asked(store):
    env, report = store
    from curator.sqlfiles import query as sql

    conn = duckdb.connect(env["CURATOR_DB"], read_only=True)
    try:
        def candidates(include: bool) -> set[int]:
            return {r[0] for r in conn.execute(sql("review.candidates"), {"project": -1, "limit": 2**62,
                                                                          "include_flagged": include, **ANY}).fetchall()}
        flagged = {r[0] for r in conn.execute("SELECT example_id FROM example_quality WHERE flags > 0").fetchall()}
        left_out = conn.execute(sql("quality.flagged_candidates"), {"project": -1}).fetchone()[0]
        assert flagged and not (candidates(False) & flagged)
        assert candidates(True) - candidates(False) == flagged and left_out == len(flagged)
        from curator.quality.run import flags_of

        some = sorted(flagged)[:5]
        assert all(flags_of(conn, some)[e] for e in some)
    finally:
        conn.close()


def test_reviewer_sees_the_flags_of_a_pushed_flagged_example(store):
    from annotation.push import task_for

    env, _ = store
    conn = duckdb.connect(env["CURATOR_DB"], read_only=True)
    try:
        from curator.quality.run import flags_of

        (eid, messages) = conn.execute("SELECT e.id, e.messages FROM examples e JOIN example_quality q "
                                       "ON q.example_id = e.id WHERE q.flags > 0 ORDER BY e.id LIMIT 1").fetchone()
        row = {"id": eid, "messages": messages, "origin": "o", "source": "s", "quality_flags": flags_of(conn, [eid])[eid]}
        task, _ = task_for(row)
        assert "placeholder: " in task["data"]["quality"] and "placeholder: " in task["data"]["notes_html"]
        unflagged = task_for(row | {"quality_flags": None})[0]["data"]
        assert unflagged["quality"] == "" and "Quality flags" not in unflagged["notes_html"], "no empty block"
        assert orjson.loads(messages)
    finally:
        conn.close()


def test_unknown_rule_is_a_clear_error(store):
    env, _ = store
    proc = run_curator(["triage", "filter", "--rule", "spelling"], env, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "rules.0: Input should be 'empty'" in proc.stderr and "(got 'spelling')" in proc.stderr
    assert "placeholder" in run_curator(["triage", "rules"], env).stdout


def test_coverage_order_puts_every_unseen_group_before_any_repeats(store):
    from annotation.db import fetch
    from annotation.queue_order import length_bin, order_candidates
    from curator.errors import InputError

    env, _ = store
    conn = duckdb.connect(env["CURATOR_DB"], read_only=True)
    try:
        candidates = fetch(conn, "review.candidates", {"project": -1, "limit": 2**62, "include_flagged": False,
                                                            **ANY})
        ordered, why = order_candidates(conn, candidates, "coverage")
        features = {f["id"]: f for f in fetch(conn, "quality.queue_features", {"ids": [c["id"] for c in candidates]})}
    finally:
        conn.close()
    groups = [(c["source"], features[c["id"]]["class"], length_bin(features[c["id"]]["chars"])) for c in ordered]
    n_groups = len(set(groups))
    assert n_groups == len(why["groups"]) > 2 and len({c["source"] for c in candidates}) == 2
    assert len(set(groups[:n_groups])) == n_groups  # one of each group before any group's second
    assert sorted(c["id"] for c in ordered) == sorted(c["id"] for c in candidates)
    with pytest.raises(InputError, match="--order"):
        order_candidates(None, candidates, "random")
