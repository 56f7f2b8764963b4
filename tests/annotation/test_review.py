"""Expert review against a real Label Studio (the session fixture) and the real curator API.

Candidates come from the bundled sample through the real CLI (ingest, candidates extract).
Reviewers are two Label Studio users (the admin and one signed up through the invite link);
their annotations are created through Label Studio's API, so Label Studio itself sends the
webhooks, and the store must end up with exactly what they submitted."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import duckdb
import httpx
import pytest

from review_fixture import (REVIEWER_B, SECRET, planned_answer, review_env, seed_sample, serving, settled,
                            store_db)
from service_fixture import free_port as _free_port
from conftest import REPO, make_env, run_curator, run_json

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

def _tasks(env) -> list[tuple[int, int, str]]:
    with store_db(env) as conn:
        return conn.execute("SELECT t.ls_task_id, t.example_id, t.draft FROM review_tasks t JOIN review_projects p "
                            "USING (ls_project_id) WHERE p.role = 'review' ORDER BY t.example_id").fetchall()


def _review_table(env) -> list[tuple]:
    with store_db(env) as conn:
        return conn.execute("SELECT * EXCLUDE (recorded_at) FROM reviews ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def store(tmp_path_factory, label_studio):
    root = tmp_path_factory.mktemp("review")
    port = _free_port()
    env = review_env(root, label_studio, "curator review acceptance", port)
    seed_sample(env)
    keys = {role: run_json(["keys", "create", "--name", role, "--role", role], env)["key"]
            for role in ("steward", "reviewer")}
    return {"env": env, "port": port, "keys": keys}


def test_setup_is_idempotent_and_config_is_accepted(store, label_studio):
    env = store["env"]
    first = run_json(["review", "setup"], env)
    again = run_json(["review", "setup"], env)
    assert {p["action"] for p in first.values()} == {"created"}
    assert {p["action"] for p in again.values()} == {"unchanged"}
    assert {r: p["ls_project_id"] for r, p in first.items()} == {r: p["ls_project_id"] for r, p in again.items()}
    with label_studio.client() as ls:
        titles = [p.title for p in ls.sdk.projects.list(page_size=1000)]
        hooks = ls.sdk.webhooks.list()
    assert titles.count("curator review acceptance") == 1 and titles.count("curator review acceptance / adjudication") == 1
    ours = [h for h in hooks if h.project in {p["ls_project_id"] for p in first.values()}]
    assert len(ours) == 2 and all(h.headers == {"X-Curator-Webhook-Secret": SECRET} for h in ours)


def test_push_in_bulk_and_a_re_push_never_duplicates(store, label_studio):
    env = store["env"]
    report = run_json(["review", "push", "--limit", "240"], env)
    assert report["pushed"] == 240 and report["adopted"] == 0
    tasks = _tasks(env)
    assert len(tasks) == 240
    with store_db(env) as conn:
        project = conn.execute("SELECT ls_project_id FROM review_projects WHERE role = 'review'").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM examples WHERE status = 'in_review'").fetchone()[0] == 240
        spans = conn.execute("SELECT e.id, substr(d.text, e.span_start + 1, e.span_end - e.span_start) FROM examples e "
                             "JOIN documents d ON d.id = e.document_id JOIN review_tasks t ON t.example_id = e.id "
                             "ORDER BY e.id LIMIT 1").fetchone()
    with label_studio.client() as ls:
        remote = {t["id"]: t["data"] for t in ls.iter_tasks(project)}
        assert len(remote) == 240
        assert {d["example_id"] for d in remote.values()} == {e for _, e, _ in tasks}
        shown = next(d for d in remote.values() if d["example_id"] == spans[0])
        assert shown["source_html"].count("<mark") == 1 and shown["draft"] and shown["pii"]
        marked = html.unescape(shown["source_html"].split("<mark>", 1)[1].split("</mark>")[0])
        assert marked and marked in spans[1], "the highlight lies inside the example's span"
        # A push that died after Label Studio's import but before our commit: the rows are gone
        # locally, the tasks are not. The next push adopts them instead of importing them again.
        lost = [e for _, e, _ in tasks[:10]]
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute(f"DELETE FROM review_tasks WHERE example_id IN ({','.join(map(str, lost))})")
        conn.execute(f"UPDATE examples SET status = 'candidate' WHERE id IN ({','.join(map(str, lost))})")
    again = run_json(["review", "push", "--limit", "10"], env)
    assert again["adopted"] == 10 and again["pushed"] == 10
    with label_studio.client() as ls:
        remote = [t["data"]["example_id"] for t in ls.iter_tasks(project)]
    assert len(remote) == len(set(remote)) == 250
    assert len(_tasks(env)) == 250


def test_verdicts_come_home_by_webhook_and_by_pull(store, label_studio):
    env, port, keys = store["env"], store["port"], store["keys"]
    tasks = _tasks(env)[:120]  # Label Studio takes ~0.3 s per annotation here: 120 of the 250
    tokens = [label_studio.token, label_studio.reviewer_token(REVIEWER_B)]
    emails = ["admin@example.com", REVIEWER_B]
    expected, annotation_ids = {}, {}
    clients = [label_studio.client(t) for t in tokens]

    def annotate(i):
        task_id, example_id, draft = tasks[i]
        result, want = planned_answer(i, draft)
        ann = clients[i % 2].create_annotation(task_id, result, lead_time=10.0 + i)
        expected[example_id] = want | {"reviewer": emails[i % 2]}
        annotation_ids[example_id] = ann["id"]

    with serving(env, port), ThreadPoolExecutor(4) as pool:
        list(pool.map(annotate, range(80)))
    with store_db(env) as conn:
        via = dict(conn.execute("SELECT received_via, count(*) FROM reviews GROUP BY ALL").fetchall())
    assert via == {"webhook": 80}

    # The receiver is down for the last third: Label Studio drops those webhooks for good.
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(annotate, range(80, 120)))
    changed_example = tasks[5][1]
    changed = planned_answer(7, tasks[5][2])
    clients[5 % 2].update_annotation(annotation_ids[changed_example], changed[0])
    expected[changed_example] = changed[1] | {"reviewer": emails[5 % 2]}
    deleted_example = tasks[6][1]
    clients[0].delete_annotation(annotation_ids.pop(deleted_example))
    del expected[deleted_example]

    report = run_json(["review", "pull"], env)
    assert report["recorded"] == 41 and report["deleted"] == 1 and report["annotations_seen"] == 119
    with store_db(env) as conn:
        live = conn.execute("SELECT example_id, reviewer_name, verdict, edited_response, rating_correctness, "
                            "rating_style, CAST(reasons AS VARCHAR), comment, lead_time FROM current_reviews").fetchall()
        got = {r[0]: {"reviewer": r[1], "verdict": r[2], "edited_response": r[3], "rating_correctness": r[4],
                      "rating_style": r[5], "reasons": json.loads(r[6]), "comment": r[7]} for r in live}
        assert got == expected
        history = conn.execute("SELECT event, count(*) FROM reviews GROUP BY ALL").fetchall()
        assert dict(history) == {"created": 120, "updated": 1, "deleted": 1}
        examples = dict(conn.execute("SELECT id, status FROM examples").fetchall())
        messages = dict(conn.execute("SELECT id, messages FROM examples").fetchall())
        diffs = dict(conn.execute("SELECT example_id, edit_diff FROM current_reviews").fetchall())
    for example_id, want in expected.items():
        assert examples[example_id] == {"accept": "approved", "edit": "approved", "reject": "rejected"}[want["verdict"]]
        assert json.loads(messages[example_id])[-1]["content"] == want["edited_response"]
        assert (diffs[example_id] is not None) == (want["verdict"] == "edit")
    assert examples[deleted_example] == "in_review"
    assert json.loads(messages[deleted_example])[-1]["content"] == tasks[6][2]

    before = _review_table(env)
    again = run_json(["review", "pull"], env)
    assert again["recorded"] == 0 and again["deleted"] == 0
    assert _review_table(env) == before

    with serving(env, port) as url:
        # Webhooks without (or with a wrong) secret: 401 and nothing recorded.
        payload = {"action": "ANNOTATION_UPDATED", "task": {"id": tasks[0][0]},
                   "annotation": {"id": annotation_ids[tasks[0][1]], "task": tasks[0][0], "completed_by": 1,
                                  "result": planned_answer(2, tasks[0][2])[0]}}
        assert httpx.post(f"{url}/webhooks/label-studio", json=payload).status_code == 401
        assert httpx.post(f"{url}/webhooks/label-studio", json=payload,
                          headers={"X-Curator-Webhook-Secret": "wrong"}).status_code == 401
        bad = json.loads(json.dumps(payload))
        bad["annotation"]["result"][1]["value"]["choices"] = ["maybe"]
        refused = httpx.post(f"{url}/webhooks/label-studio", json=bad, headers={"X-Curator-Webhook-Secret": SECRET})
        assert refused.status_code == 422 and "maybe" in refused.json()["detail"]
        for malformed in ({"action": "ANNOTATION_CREATED", "task": {"id": tasks[0][0]}, "annotation": {"result": 3}},
                          {"action": "ANNOTATIONS_DELETED", "annotations": [{"task": 1}]}):
            response = httpx.post(f"{url}/webhooks/label-studio", json=malformed,
                                  headers={"X-Curator-Webhook-Secret": SECRET})
            assert response.status_code == 422 and "annotation" in response.json()["detail"], response.text
        # The same annotation again, with the secret: recognised by its payload hash, nothing added.
        same = {"action": "ANNOTATION_UPDATED", "task": {"id": tasks[2][0]},
                "annotation": {"id": annotation_ids[tasks[2][1]], "task": tasks[2][0], "completed_by": 1,
                               "result": planned_answer(2, tasks[2][2])[0]}}
        replay = httpx.post(f"{url}/webhooks/label-studio", json=same, headers={"X-Curator-Webhook-Secret": SECRET})
        assert replay.status_code == 202 and replay.json()["queued"]  # in the inbox, acknowledged at once
        steward = {"Authorization": f"Bearer {keys['steward']}"}
        reviewer = {"Authorization": f"Bearer {keys['reviewer']}"}
        settled(url, steward)
        status = httpx.get(f"{url}/review/status", headers=reviewer).json()
        assert status["queue"]["review_events"] == len(before)
        assert httpx.post(f"{url}/review/push", headers=reviewer, json={}).status_code == 403
        assert httpx.post(f"{url}/review/pull", headers=reviewer).status_code == 403
        assert httpx.post(f"{url}/review/pull", headers=steward, timeout=60).json()["recorded"] == 0
        pushed = httpx.post(f"{url}/review/push", headers=steward, json={"limit": 5}, timeout=60).json()
        assert pushed["pushed"] == 5 and pushed["adopted"] == 0
        assert httpx.post(f"{url}/review/push", headers=steward, json={"overlap": 0}).status_code == 422
        # A live update while the receiver is up arrives as an `updated` row through the webhook.
        clients[0].update_annotation(annotation_ids[tasks[0][1]], planned_answer(2, tasks[0][2])[0])
        expected[tasks[0][1]] = planned_answer(2, tasks[0][2])[1]
        # A deletion while the receiver is up arrives as a `deleted` row through the webhook.
        clients[1].delete_annotation(annotation_ids[tasks[3][1]])
        del expected[tasks[3][1]]
        settled(url, steward)
        status = httpx.get(f"{url}/review/status", headers=reviewer).json()
        assert status["queue"]["review_events"] == len(before) + 2
        assert {t["reviewer"] for t in status["throughput"]} == set(emails)
        rejected = [w for w in expected.values() if w["verdict"] == "reject"]
        assert status["rejection_reasons"] == dict(Counter(r for w in rejected for r in w["reasons"]))
    with store_db(env) as conn:
        last = conn.execute("SELECT received_via, event, verdict, example_id FROM reviews ORDER BY id DESC LIMIT 2").fetchall()
        assert last == [("webhook", "deleted", None, tasks[3][1]), ("webhook", "updated", "reject", tasks[0][1])]
        assert conn.execute("SELECT status FROM examples WHERE id = ?", [tasks[3][1]]).fetchone()[0] == "in_review"
        assert conn.execute("SELECT status FROM examples WHERE id = ?", [tasks[0][1]]).fetchone()[0] == "rejected"
        hook = conn.execute("SELECT webhook_id FROM review_projects WHERE role = 'review'").fetchone()[0]

    # With the webhook switched off, the service's own periodic pull still brings a change home.
    with label_studio.client() as ls:
        ls.sdk.webhooks.update(hook, is_active=False)
    try:
        with serving(dict(env, CURATOR_REVIEW_PULL_INTERVAL="1"), port) as url:
            clients[1].update_annotation(annotation_ids[tasks[1][1]], planned_answer(0, tasks[1][2])[0])
            deadline = time.monotonic() + 30
            reviewer = {"Authorization": f"Bearer {keys['reviewer']}"}
            while httpx.get(f"{url}/review/status", headers=reviewer).json()["queue"]["review_events"] <= len(before) + 2:
                assert time.monotonic() < deadline, "the periodic pull did not record the change"
                time.sleep(0.5)
    finally:
        with label_studio.client() as ls:
            ls.sdk.webhooks.update(hook, is_active=True)
    with store_db(env) as conn:
        last = conn.execute("SELECT received_via, event, verdict, example_id FROM reviews ORDER BY id DESC LIMIT 1").fetchone()
        assert last == ("pull", "updated", "accept", tasks[1][1])
    for client in clients:
        client.close()


def test_overlap_agreement_and_adjudication(tmp_path, label_studio):
    """Two reviewers on 12 examples, disagreeing on 3 (units 7, 8, 12 below).

    Hand computation of nominal alpha (Krippendorff 2011, coincidence matrix): values per unit
    (A, B) are (a,a)x6, (a,r)x2, (r,r)x3, (r,a)x1, so o_aa = 12, o_rr = 6, o_ar = o_ra = 3,
    n = 24, n_a = 15, n_r = 9; alpha = 1 - (n - 1) * (o_ar + o_ra) / (2 * n_a * n_r)
    = 1 - 23 * 6 / 270 = 132 / 270 = 0.48888…"""
    port = _free_port()
    env = review_env(tmp_path, label_studio, "curator review overlap", port)
    seed_sample(env)
    run_json(["review", "setup"], env)
    assert run_json(["review", "push", "--limit", "12", "--overlap", "2"], env)["pushed"] == 12
    tasks = _tasks(env)
    a_says = ["accept"] * 8 + ["reject"] * 4
    b_says = ["accept"] * 6 + ["reject"] * 5 + ["accept"]
    a, b = label_studio.client(), label_studio.client(label_studio.reviewer_token(REVIEWER_B))
    for (task_id, _, _), va, vb in zip(tasks, a_says, b_says):
        for client, verdict in ((a, va), (b, vb)):
            client.create_annotation(task_id, [{"from_name": "verdict", "to_name": "source", "type": "choices",
                                                "value": {"choices": [verdict]}}])
    again = run_json(["review", "push", "--limit", "0"], env)  # no --overlap: the project keeps its overlap
    assert again["pushed"] == 0 and again["overlap"] == 2
    report = run_json(["review", "pull"], env)
    assert report["outcomes"] == {"decided": 9, "disputed": 3, "undecided": 0} and report["invalid"] == []
    assert report["adjudication_tasks"] == 3
    status = run_json(["review", "status", "--examples"], env)
    assert status["agreement"]["alpha_verdict"] == pytest.approx(132 / 270)
    assert status["agreement"]["disagreements"] == 3
    (pair,) = status["agreement"]["pairs"]
    assert pair["shared"] == 12 and pair["percent_agreement"] == pytest.approx(9 / 12)
    disputed = {e["example_id"] for e in status["agreement"]["examples"] if not e["agree"]}
    assert disputed == {tasks[i][1] for i in (6, 7, 11)}
    assert status["queue"]["awaiting_adjudication"] == 3

    with store_db(env) as conn:
        adj = dict(conn.execute("SELECT t.example_id, t.ls_task_id FROM review_tasks t JOIN review_projects p "
                                "USING (ls_project_id) WHERE p.role = 'adjudication'").fetchall())
        assert set(adj) == disputed
        assert {s for (s,) in conn.execute(f"SELECT status FROM examples WHERE id IN "
                                           f"({','.join(map(str, disputed))})").fetchall()} == {"in_review"}
    rulings = {tasks[6][1]: "reject", tasks[7][1]: "accept", tasks[11][1]: "edit"}
    for example_id, verdict in rulings.items():
        result = [{"from_name": "verdict", "to_name": "source", "type": "choices", "value": {"choices": [verdict]}}]
        if verdict == "edit":
            result.append({"from_name": "response", "to_name": "source", "type": "textarea",
                           "value": {"text": ["The adjudicated answer."]}})
        a.create_annotation(adj[example_id], result)
    assert run_json(["review", "pull"], env)["adjudication_tasks"] == 0
    with store_db(env) as conn:
        outcomes = {e: (v, s) for e, v, s in conn.execute("SELECT example_id, verdict, source FROM review_outcomes").fetchall()}
        statuses = dict(conn.execute("SELECT id, status FROM examples").fetchall())
        edited = json.loads(conn.execute("SELECT messages FROM examples WHERE id = ?", [tasks[11][1]]).fetchone()[0])
    for example_id, verdict in rulings.items():
        assert outcomes[example_id] == (verdict, "adjudication")
    assert statuses[tasks[6][1]] == "rejected" and statuses[tasks[7][1]] == "approved"
    assert edited[-1]["content"] == "The adjudicated answer."
    assert outcomes[tasks[0][1]] == ("accept", "agreement") and outcomes[tasks[9][1]] == ("reject", "agreement")
    a.close()
    b.close()


def test_launcher_script_starts_and_stops_a_server(tmp_path, label_studio):
    """scripts/label_studio.sh with the venv and a prepared data dir under the state dir."""
    state = tmp_path / "state"
    state.mkdir()
    shutil.copytree(label_studio.template, state / "label-studio")
    port = _free_port()
    env = make_env(tmp_path, CURATOR_LABEL_STUDIO_VENV=str(label_studio.venv), PYTHON=sys.executable,
                   CURATOR_LABEL_STUDIO_URL=f"http://127.0.0.1:{port}", CURATOR_LABEL_STUDIO_TOKEN=label_studio.token)
    script = [str(REPO / "scripts" / "label_studio.sh")]
    started = subprocess.run([*script, "start"], env=env, capture_output=True, text=True, timeout=300)
    try:
        assert started.returncode == 0, started.stderr
        assert f"http://127.0.0.1:{port}" in started.stdout
        status = subprocess.run([*script, "status"], env=env, capture_output=True, text=True)
        assert status.returncode == 0 and json.loads(status.stdout)["healthy"] is True
        twice = subprocess.run([*script, "start"], env=env, capture_output=True, text=True)
        assert twice.returncode == 1 and "run `stop` first" in twice.stderr
        with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Token {label_studio.token}"}) as ls:
            assert ls.get("/api/current-user/whoami").json()["email"] == "admin@example.com"
    finally:
        stopped = subprocess.run([*script, "stop"], env=env, capture_output=True, text=True)
    assert stopped.stdout.strip() == "stopped"
    assert subprocess.run([*script, "status"], env=env, capture_output=True, text=True).returncode == 1


def test_errors_are_one_line(tmp_path):
    env = make_env(tmp_path, CURATOR_LABEL_STUDIO_URL=f"http://127.0.0.1:{_free_port()}")
    proc = run_curator(["review", "push"], env, check=False)
    assert proc.returncode == 1 and "run `curator review setup` first" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run_curator(["review", "setup"], env, check=False)
    assert proc.returncode == 1 and "unreachable" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_curator(["review", "push", "--overlap", "0"], env, check=False)
    assert proc.returncode == 1
