"""The model judge against the local OpenAI-compatible server, which scores by rule
(``openai_server.rubric_judge``), and calibration on planted human verdicts whose relation to
the judge's score is known: humans accept every response scored >= 0.6 and half of the others
(by example id), so precision(score >= t) = 0.95 exactly at t* = 0.25 / 0.45 = 0.556 for
uniform scores; calibration must find a threshold whose bootstrap interval holds t*."""

from __future__ import annotations

import duckdb
import pytest

from conftest import make_env, query, run_curator, run_json
from openai_server import OpenAIServer, last_user_message, rubric_judge, rubric_score

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

BITEXT = "bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv"
T_STAR = 0.25 / 0.45
N = 600


@pytest.fixture(scope="module")
def judged(tmp_path_factory, shared_data):
    server = OpenAIServer(respond=rubric_judge).start()
    try:
        env = make_env(tmp_path_factory.mktemp("judge"), CURATOR_OPENAI_BASE_URL=server.base_url,
                       CURATOR_OPENAI_API_KEY="test-key", CURATOR_MODEL="gpt-4o-mini", CURATOR_MAX_RETRIES="1",
                       CURATOR_PII_POLICY="redact")
        run_curator(["ingest", str(shared_data / BITEXT)], env)
        run_curator(["triage", "filter", "--skip", "placeholder"], env)  # bitext's slots: judged, not filtered
        report = run_json(["triage", "judge", "--limit", str(N)], env)
        yield env, report, server
    finally:
        server.stop()


def _write(env: dict, sql: str) -> None:
    """A change a step outside this test (review pull, a reviewer) would have made."""
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute(sql)


def _plant_outcomes(env: dict) -> None:
    """Human outcomes and ratings for every judged example, by the rule in the module docstring."""
    conn = duckdb.connect(env["CURATOR_DB"])
    try:
        for i, (eid, score, correctness, style) in enumerate(conn.execute(
                "SELECT example_id, score, correctness, style FROM example_judgements ORDER BY example_id").fetchall()):
            verdict = "accept" if score >= 0.6 or eid % 2 == 0 else "reject"
            conn.execute("INSERT INTO review_outcomes (example_id, verdict, source, n_reviews) VALUES (?, ?, 'single', 1)",
                         [eid, verdict])
            conn.execute("UPDATE examples SET status = ? WHERE id = ?", ["approved" if verdict == "accept" else "rejected", eid])
            conn.execute("INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, "
                         "received_via, is_adjudication, reviewer, verdict, reasons, rating_correctness, rating_style, "
                         "payload_hash) VALUES (?, 1, ?, ?, 'created', 'webhook', false, 'ana@x', ?, '[]', ?, ?, ?)",
                         [eid, eid, eid, verdict, correctness, style, f"h{i}"])
    finally:
        conn.close()


def test_judge_scores_every_kept_candidate_through_the_client(judged):
    env, report, server = judged
    assert report["judged"] == report["examples"] == N and not report["failures"]
    assert report["run_id"] and report["cost_usd"] > 0 and report["template"] == "rubric"
    stored = query(env, "SELECT example_id, score, model, template_hash, rationale FROM example_judgements")
    assert len(stored) == N and {r[2] for r in stored} == {"gpt-4o-mini"}
    assert {r[3] for r in stored} == {report["template_hash"]}
    sent = {}
    for request in server.requests:
        text = last_user_message(request.body)
        sent[text] = rubric_score(text.split("<response>\n", 1)[1].rsplit("\n</response>", 1)[0])
    assert sorted(round(s, 6) for s in sent.values()) == sorted(r[1] for r in stored)
    flagged = query(env, "SELECT count(*) FROM example_judgements j JOIN example_quality q "
                         "ON q.example_id = j.example_id WHERE q.flags > 0")[0][0]
    assert flagged == 0  # only what the filters kept is judged
    again = run_json(["triage", "judge", "--limit", str(N)], env)  # the next N: new examples, none twice
    assert again["judged"] == N and len(server.requests) == 2 * N
    assert query(env, "SELECT count(*), count(DISTINCT example_id) FROM example_judgements")[0] == (2 * N, 2 * N)


def test_calibration_recovers_the_known_threshold(judged):
    env, _, _ = judged
    _plant_outcomes(env)
    cal = run_json(["triage", "calibrate", "--bootstrap", "400"], env)
    overall = cal["overall"]
    assert overall["reviewed"] == 2 * N
    low, high = overall["threshold_ci"]
    assert low <= T_STAR <= high and abs(overall["threshold"] - T_STAR) < 0.1
    assert overall["precision"] >= 0.95 and overall["precision_lower"] < overall["precision"]
    assert overall["alpha_correctness"] == pytest.approx(1.0)  # humans planted with the judge's ratings
    # accept-or-not: the judge says accept at >= 0.6, humans also accept half below: accuracy ~ 0.7
    assert 0.6 < overall["accuracy"] < 0.8 and 0 < overall["kappa"] < 1
    assert [g["reviewed"] for g in cal["groups"]] == [2 * N]
    text = run_curator(["triage", "calibrate", "--bootstrap", "200"], env).stdout
    assert "threshold" in text and str(2 * N) in text


def test_reviewer_sees_the_judgement_as_text_not_as_a_preselected_answer(judged):
    from annotation.labeling import labeling_config
    from annotation.push import task_for

    env, _, _ = judged
    conn = duckdb.connect(env["CURATOR_DB"], read_only=True)
    try:
        from annotation.db import fetch

        j = fetch(conn, "judge.latest_of", {"ids": [r[0] for r in conn.execute(
            "SELECT example_id FROM example_judgements LIMIT 1").fetchall()]})[0]
        messages = conn.execute("SELECT messages FROM examples WHERE id = ?", [j["example_id"]]).fetchone()[0]
    finally:
        conn.close()
    task, _ = task_for({"id": j["example_id"], "messages": messages, "origin": "o", "source": "s", "judgement": j})
    assert j["verdict"] in task["data"]["judge"] and j["rationale"] in task["data"]["judge"]
    # No prediction at all (the draft fills the box through its data field), so nothing is pre-selected.
    assert all(r["from_name"] not in ("verdict", "correctness", "style")
               for p in task.get("predictions", []) for r in p["result"])
    assert j["rationale"] in task["data"]["notes_html"] and 'value="$notes_html"' in labeling_config()


def test_judge_refuses_a_bad_template(judged, tmp_path):
    env, _, _ = judged
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "system": "s", "instruction": "no slots"}')
    proc = run_curator(["triage", "judge", "--template", str(bad)], env, check=False)
    assert proc.returncode == 1 and "{source}" in proc.stderr and "Traceback" not in proc.stderr


def test_auto_accept_refused_below_n_and_the_bound_granted_above_then_audited(judged):
    env, _, _ = judged
    if not query(env, "SELECT count(*) FROM review_outcomes")[0][0]:
        _plant_outcomes(env)
    (source,) = query(env, "SELECT DISTINCT s.name FROM examples e JOIN sources s ON s.id = e.source_id")[0]
    fresh = run_json(["triage", "judge", "--limit", str(N)], env)  # judged, never reviewed: what auto-accept decides
    assert fresh["judged"] == N
    base = ["triage", "auto-accept", "enable", "--source", source, "--template", "(none)", "--bootstrap", "300"]
    too_few = run_curator([*base, "--threshold", "0.65", "--min-reviewed", "5000"], env, check=False)
    assert too_few.returncode == 1 and "refused" in too_few.stderr and "need 5000" in too_few.stderr
    too_low = run_curator([*base, "--threshold", "0.3"], env, check=False)  # precision ~0.79 < 0.95
    assert too_low.returncode == 1 and "lower bound" in too_low.stderr
    granted = run_json([*base, "--threshold", "0.65", "--audit-share", "0.2"], env)
    reviewed = query(env, "SELECT count(*) FROM review_outcomes")[0][0]
    assert granted["reviewed"] == reviewed >= N and granted["precision_lower"] >= 0.95

    decided = run_json(["triage", "auto-accept", "run"], env)["policies"][0]
    eligible = query(env, "SELECT count(*) FROM example_judgements j LEFT JOIN review_outcomes o ON "
                          "o.example_id = j.example_id WHERE o.example_id IS NULL AND j.score >= 0.65")[0][0]
    assert decided["auto_accepted"] + decided["audit_sample"] == eligible and decided["audit_sample"] >= 20
    assert query(env, "SELECT count(*) FROM examples e JOIN example_auto_accept a ON a.example_id = e.id "
                      "WHERE e.status = 'approved' AND NOT a.audit")[0][0] == decided["auto_accepted"]
    assert query(env, "SELECT count(*) FROM examples e JOIN example_auto_accept a ON a.example_id = e.id "
                      "WHERE e.status = 'candidate' AND a.audit")[0][0] == decided["audit_sample"]  # to humans
    assert run_json(["triage", "auto-accept", "run"], env)["policies"][0]["auto_accepted"] == 0  # decided once

    # version create --exclude-auto: human-approved examples only
    human = query(env, "SELECT count(*) FROM review_outcomes WHERE verdict = 'accept'")[0][0]
    with_auto = run_json(["version", "create", "withauto"], env)
    without = run_json(["version", "create", "humanonly", "--exclude-auto"], env)
    assert sum(with_auto["counts"].values()) == human + decided["auto_accepted"]
    assert sum(without["counts"].values()) == human

    # the humans reject the audit sample: the next run switches the policy off, with the numbers
    _write(env, "INSERT INTO review_outcomes (example_id, verdict, source, n_reviews) "
                "SELECT example_id, 'reject', 'single', 1 FROM example_auto_accept WHERE audit")
    off = run_json(["triage", "auto-accept", "run"], env)["policies"][0]
    assert off["disabled"] and "below the target" in off["disabled"] and off["audit_precision"] == 0
    status = run_json(["triage", "auto-accept", "status"], env)[0]
    assert not status["enabled"] and status["audit_reviewed"] == decided["audit_sample"]
    assert sum(d["reviewed"] for d in status["timeline"]) == decided["audit_sample"]
    assert run_json(["triage", "auto-accept", "run"], env)["policies"] == []  # off stays off


def test_uncertainty_order_puts_judge_uncertain_examples_first(judged):
    from annotation.db import fetch
    from annotation.queue_order import order_candidates

    env, _, _ = judged
    conn = duckdb.connect(env["CURATOR_DB"], read_only=True)
    try:
        candidates = fetch(conn, "review.candidates", {"project": -1, "limit": 2**62, "include_flagged": False,
                                                        "sources": None, "kinds": None, "order": "id", "seed": 0})
        ordered, why = order_candidates(conn, candidates, "uncertainty")
        scores = {r[0]: r[1] for r in conn.execute("SELECT example_id, score FROM example_judgements").fetchall()}
    finally:
        conn.close()
    unjudged = [c for c in ordered if c["id"] not in scores]
    assert ordered[:len(unjudged)] == unjudged and why["unjudged_first"] == len(unjudged)
    distances = [abs(scores[c["id"]] - 0.5) for c in ordered[len(unjudged):]]
    assert distances and distances == sorted(distances) and why["judged"] == len(distances)
