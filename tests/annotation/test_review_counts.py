"""One definition of an answer's outcome behind every count of verdicts: `curator review status`,
`curator stats` and the stats page report the same numbers on a mixed set of answers (an accept
whose text changed, an edit that changed nothing, a reject, a skip...), counted by what each answer
did and not by the button pressed. Also the steward's list of rejected examples and the progress
by source, over HTTP here and in a real headless Chromium (slow lane).

The store is real: examples ingested with the CLI into two sources, then review rows planted in SQL
as the record step writes them, `outcome` included (what annotation/outcomes.py ``effective``
gives for each)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest

from conftest import REPO, make_env, run_curator, run_json
from service_fixture import serving_with_keys

# Examples 1-4 come from source "clinical", 5-8 from "support" (ingest order).
DRAFT = "Draft answer {}."
CHANGED = "Draft answer {}, corrected by the reviewer."
# (annotation, example, ls user, button, text left, outcome, reasons, comment); ls user 7 is known
# only by id in the row, by email through review_users, as a webhook may deliver it.
ANSWERS = [
    (1, 1, 5, "accept", None, "accept", [], None),           # accept, text unchanged
    (2, 2, 5, "accept", "changed", "edit", [], None),        # accept whose text changed: an edit
    (3, 3, 5, "accept", "changed", "edit", [], None),
    (4, 4, 7, "edit", "same", "accept", [], None),           # edit that changed nothing: an accept
    (5, 5, 7, "edit", "changed", "edit", [], None),          # edit
    (6, 6, 7, "reject", None, "reject", ["factually_wrong", "other"],
     "The dose is 50 mg in the note, not 500 mg."),
    (7, 7, 7, None, None, "skip", [], None),                 # skip: no verdict
    (8, 2, 7, "edit", "changed", "edit", [], None),          # second answer on example 2
]
USERS = {5: "ana@clinic.example", 7: "ben@clinic.example"}
EXPECTED = {"ana@clinic.example": {"reviews": 3, "accepted": 1, "edited": 2, "rejected": 0, "skipped": 0},
            "ben@clinic.example": {"reviews": 4, "accepted": 1, "edited": 2, "rejected": 1, "skipped": 1}}
TOTALS = {"reviews": 7, "accepted": 2, "edited": 4, "rejected": 1, "skipped": 1}
COUNTS = ("reviews", "accepted", "edited", "rejected", "skipped")
STATUS = {1: "approved", 2: "approved", 3: "approved", 4: "approved", 5: "approved", 6: "rejected",
          7: "in_review", 8: "candidate"}
PROGRESS = {"clinical": {"candidate": 0, "in_review": 0, "approved": 4, "rejected": 0},
            "support": {"candidate": 1, "in_review": 1, "approved": 1, "rejected": 1}}


def _chat(i: int) -> str:
    return json.dumps({"messages": [{"role": "user", "content": f"Question {i} about the visit?"},
                                    {"role": "assistant", "content": DRAFT.format(i)}]})


def _plant(root: Path) -> dict[str, str]:
    """Ingest eight examples into two sources, then plant the answers, outcomes and statuses."""
    import duckdb

    env = make_env(root)
    for name, ids in (("clinical", range(1, 5)), ("support", range(5, 9))):
        path = root / f"{name}.jsonl"
        path.write_text("\n".join(_chat(i) for i in ids) + "\n")
        run_curator(["ingest", str(path), "--source", name], env)
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        ids = [i for (i,) in conn.execute("SELECT id FROM examples ORDER BY id").fetchall()]
        ex = dict(zip(range(1, 9), ids))
        conn.execute("INSERT INTO review_projects (ls_project_id, role, title, config_hash) "
                     "VALUES (1, 'review', 'Review', 'h')")
        for user, email in USERS.items():
            conn.execute("INSERT INTO review_users VALUES (?, ?)", [user, email])
        for n in range(1, 8):
            conn.execute("INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft) VALUES (?, 1, ?, ?)",
                         [ex[n], 100 + n, DRAFT.format(n)])
        for ann, n, user, button, text, outcome, reasons, comment in ANSWERS:
            left = {"changed": CHANGED.format(n), "same": DRAFT.format(n)}.get(text)
            conn.execute(
                "INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, received_via, "
                "ls_user_id, reviewer, verdict, edited_response, reasons, comment, lead_time, annotation_created_at, "
                "payload_hash, outcome, skipped) VALUES (?, 1, ?, ?, 'created', 'webhook', ?, ?, ?, ?, ?, ?, ?, "
                "TIMESTAMPTZ '2026-11-20 10:00:00+00' + INTERVAL (?) MINUTE, ?, ?, ?)",
                [ex[n], 100 + n, ann, user, USERS[user] if user == 5 else f"ls-user:{user}", button, left,
                 json.dumps(reasons), comment, 20.0 * ann, 5 * ann, f"p{ann}", outcome, outcome == "skip"])
        # an answer on example 8, then deleted: it counts nowhere
        for event in ("created", "deleted"):
            conn.execute("INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, "
                         "received_via, ls_user_id, reviewer, verdict, reasons, payload_hash, outcome) VALUES "
                         "(?, 1, 108, 9, ?, 'webhook', 5, 'ana@clinic.example', 'reject', '[\"pii\"]', ?, 'reject')",
                         [ex[8], event, f"d-{event}"])
        for n, status in STATUS.items():
            conn.execute("UPDATE examples SET status = ? WHERE id = ?", [status, ex[n]])
        for n in range(1, 7):
            verdict = {1: "accept", 4: "accept", 6: "reject"}.get(n, "edit")
            conn.execute("INSERT INTO review_outcomes (example_id, verdict, source, n_reviews) VALUES (?, ?, ?, ?)",
                         [ex[n], verdict, "agreement" if n == 2 else "single", 2 if n == 2 else 1])
    return env


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("review-counts")
    env = _plant(root)
    return {"root": root, "env": env, "status": run_json(["review", "status"], env),
            "stats": run_json(["stats"], env),
            "status_text": run_curator(["review", "status"], env).stdout,
            "stats_text": run_curator(["stats"], env).stdout}


@pytest.fixture(scope="module")
def service(planted):
    with serving_with_keys(planted["root"], roles=("steward", "reviewer")) as svc:
        yield svc


def by_person(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Counts per reviewer (review status has a row per reviewer and project: summed)."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out[r["reviewer"]] = {k: out.get(r["reviewer"], {}).get(k, 0) + r[k] for k in COUNTS}
    return out


def _page_counts(html: str) -> dict[str, dict[str, int]]:
    """The reviewers table of the page, read from its cells."""
    found = {}
    for reviewer, cells in re.findall(r'<tr data-reviewer="([^"]+)">(.*?)</tr>', html, re.S):
        found[reviewer] = {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', cells)}
    return found


def test_button_counts_would_differ():
    """The set is mixed so that counting buttons gives other numbers than counting outcomes."""
    buttons = Counter(a[3] for a in ANSWERS if a[3])
    outcomes = Counter(a[5] for a in ANSWERS)
    assert (buttons["accept"], buttons["edit"]) == (3, 3)
    assert (outcomes["accept"], outcomes["edit"], outcomes["reject"], outcomes["skip"]) == (2, 4, 1, 1)


def test_review_status_counts_outcomes(planted):
    status = planted["status"]
    assert {r["project"] for r in status["throughput"]} == {"review"}
    assert by_person(status["throughput"]) == EXPECTED
    assert status["rejection_reasons"] == {"factually_wrong": 1, "other": 1}
    # the two answers on example 2 (accept with changed text, edit) are both edits: they agree
    assert status["agreement"]["units"] == 1 and status["agreement"]["disagreements"] == 0
    lines = {line.split("│")[1].strip(): line for line in planted["status_text"].splitlines()
             if "clinic.example" in line}
    cells = [c.strip() for c in lines["ben@clinic.example"].split("│")[3:7]]
    assert cells == ["1", "2", "1", "1"], planted["status_text"]


def test_stats_counts_outcomes_like_review_status(planted):
    reviews = planted["stats"]["reviews"]
    assert by_person(reviews["reviewers"]) == EXPECTED == by_person(planted["status"]["throughput"])
    assert {k: sum(r[k] for r in reviews["reviewers"]) for k in COUNTS} == TOTALS
    assert planted["stats"]["rejections"]["review"] == planted["status"]["rejection_reasons"]
    agreement = reviews["agreement"]
    assert agreement["pairs"] == 1 and agreement["verdict"] == 1.0 and agreement["kappa"] == 1.0
    progress = {r.pop("source"): r for r in planted["stats"]["counts"]["by_source_status"]}
    assert progress == {s: c | {"examples": 4} for s, c in PROGRESS.items()}
    # reviewed: examples 1-6 have a verdict; the skip (7) and the deleted answer (8) are no review
    assert planted["stats"]["funnel"]["reviewed"] == 6
    assert "skipped" in planted["stats_text"] and "progress by source" in planted["stats_text"]


def test_page_shows_the_same_counts_progress_and_a_readable_rejected_list(planted, service):
    with service.as_role("steward") as client:
        page = client.get("/")
        assert page.status_code == 200
        assert _page_counts(page.text) == EXPECTED == by_person(planted["status"]["throughput"])
        progress = re.search(r'<table id="progress">(.*?)</table>', page.text, re.S).group(1)
        for source, counts in PROGRESS.items():
            row = re.search(rf'<tr data-source="{source}">(.*?)</tr>', progress, re.S).group(1)
            assert {k: int(v) for k, v in re.findall(r'data-status="(\w+)">(\d+)<', row)} == counts
        assert 'href="/rejected"' in page.text
        reasons = re.search(r'<table id="review-reasons">(.*?)</table>', page.text, re.S).group(1)
        assert ">Factually wrong<" in reasons and ">Other<" in reasons and "factually_wrong<" not in reasons

        rejected = client.get("/rejected")
        assert rejected.status_code == 200 and rejected.headers["content-type"].startswith("text/html")
        rows = re.findall(r'<tr data-example="(\d+)">(.*?)</tr>', rejected.text, re.S)
        assert len(rows) == 1 and "1 rejected example," in rejected.text
        example_id, row = rows[0]
        for text in (">Factually wrong<", ">Other<", "The dose is 50 mg in the note, not 500 mg.",
                     "ben@clinic.example", ">support<", "/projects/1/data?task=106"):
            assert text in row, text
        link = re.search(r'<a href="(/examples/\d+)" class="example">', row).group(1)
        assert client.get(link).json()["id"] == int(example_id)
        assert client.get("/rejected", params={"limit": 0}).status_code == 422
    with service.as_role("reviewer") as client:
        assert client.get("/rejected").status_code == 403
    with httpx.Client(base_url=service.url) as anonymous:
        assert anonymous.get("/rejected", follow_redirects=False).headers["location"] == "/login"


@pytest.mark.slow
def test_page_in_a_browser(planted, service):
    """The same in a real headless Chromium: the reviewers table, the progress table, and the
    rejected list reached by its link; screenshots kept under tests/artifacts/."""
    from browser_fixture import chromium

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("this test needs Debian's chromium: apt-get install -y chromium")
    artifacts = REPO / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with chromium(path) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{service.url}/login")
        page.fill("#key", service.keys["steward"])
        page.click("button[type=submit]")
        page.wait_for_selector("#reviewers")
        for reviewer, counts in EXPECTED.items():
            row = page.locator(f'#reviewers tr[data-reviewer="{reviewer}"]')
            assert {k: int(row.locator(f'td[data-count="{k}"]').inner_text()) for k in COUNTS} == counts
        support = page.locator('#progress tr[data-source="support"]').inner_text().split()
        assert support == ["support", "1", "1", "1", "1", "4"]
        page.screenshot(path=str(artifacts / "stats_page_outcomes.png"), full_page=True)

        page.get_by_role("link", name="rejected examples").click()
        page.wait_for_selector("#rejected")
        row = page.locator("#rejected tr[data-example]")
        assert row.count() == 1
        text = row.inner_text()
        assert "Factually wrong" in text and "Other" in text and "not 500 mg" in text and "ben@clinic" in text
        assert row.locator(".reason").first.get_attribute("title").startswith("Factually wrong: ")
        page.screenshot(path=str(artifacts / "rejected_examples.png"), full_page=True)
        row.locator("a.example").click()
        assert json.loads(page.locator("body").inner_text())["status"] == "rejected"
        context.close()
