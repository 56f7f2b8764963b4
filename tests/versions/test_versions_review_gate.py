"""The version gate on what reviewers saw: an example whose trained turns were not all in an
editable box on its review task (a task pushed under the one-box screen), or whose stored turn is
not the text review decided, is refused with a one-line reason naming it; a fully reviewed one
passes. Real CLI, real DuckDB file; the review rows are written as annotation/ records them."""

from __future__ import annotations

import json

import duckdb
import orjson

from conftest import make_env, run_curator, run_json

CHATS = [{"messages": [{"role": "system", "content": "You answer questions about leases."},
                       {"role": "user", "content": f"Question {i}: may the tenant sublet unit {i}?"},
                       {"role": "assistant", "content": f"Only with written consent for unit {i}."},
                       {"role": "user", "content": "And if the landlord does not answer?"},
                       {"role": "assistant", "content": f"Consent for unit {i} may not be withheld unreasonably."},
                       {"role": "user", "content": "Thanks."},
                       {"role": "assistant", "content": f"You are welcome; keep the letter about unit {i}."}]}
         for i in range(6)]


def _store(tmp_path):
    env = make_env(tmp_path)
    (tmp_path / "chats.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CHATS), encoding="utf-8")
    run_curator(["ingest", str(tmp_path / "chats.jsonl"), "--source", "leases"], env)
    run_curator(["dedup", "--target", "examples"], env)
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM examples ORDER BY id").fetchall()]
        conn.execute("INSERT INTO review_projects (ls_project_id, role, title, config_hash) VALUES (1, 'review', 't', 'h')")
        for n, example_id in enumerate(ids):
            messages = orjson.loads(conn.execute("SELECT messages FROM examples WHERE id = ?", [example_id]).fetchone()[0])
            shown = [{"message": i, "text": m["content"]} for i, m in enumerate(messages) if m["role"] == "assistant"]
            conn.execute("INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft, turns) "
                         "VALUES (?, 1, ?, ?, ?)", [example_id, 100 + n, shown[-1]["text"], orjson.dumps(shown).decode()])
            conn.execute("INSERT INTO review_outcomes (example_id, verdict, source, final_response, final_turns, n_reviews) "
                         "VALUES (?, 'accept', 'single', ?, ?, 1)",
                         [example_id, shown[-1]["text"], orjson.dumps([t["text"] for t in shown]).decode()])
        conn.execute("UPDATE examples SET status = 'approved'")
    return env, ids


def _refusal(env, *args) -> str:
    proc = run_curator(["version", "create", "leases", *args], env, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr.strip()


def test_a_trained_turn_no_reviewer_saw_is_refused_with_the_example_named(tmp_path):
    env, ids = _store(tmp_path)
    legacy, changed = ids[1], ids[2]
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        # pushed under the one-box screen: only the last assistant turn was under review
        conn.execute("UPDATE review_tasks SET turns = NULL WHERE example_id = ?", [legacy])
        # a trained turn altered after review
        messages = orjson.loads(conn.execute("SELECT messages FROM examples WHERE id = ?", [changed]).fetchone()[0])
        messages[2]["content"] = "Never."
        conn.execute("UPDATE examples SET messages = ? WHERE id = ?", [orjson.dumps(messages).decode(), changed])
    refused = _refusal(env)
    assert len(refused.splitlines()) == 1, refused
    assert f"example {legacy}: trained turn(s) at message 2, 4 were never shown" in refused
    assert f"examples {changed}" in refused and "2 more" not in refused
    refused = _refusal(env, "--where", f"id <> {legacy}")
    assert f"example {changed}: the text of message 2 is not the text review decided" in refused
    made = run_json(["version", "create", "leases", "--where", f"id NOT IN ({legacy}, {changed})"], env)
    assert sum(made["counts"].values()) == len(ids) - 2
    with duckdb.connect(env["CURATOR_DB"]) as conn:  # nothing half-written by the refusals
        assert conn.execute("SELECT count(*) FROM dataset_versions").fetchone()[0] == 1
