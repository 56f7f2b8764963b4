"""The review screen as a reviewer meets it: the real Label Studio (session fixture) in real
headless Chromium (Debian's ``chromium`` driven by Playwright), the real ``curator serve``
receiving Label Studio's webhooks. A reviewer accepts, edits, rejects with a reason, edits the
box and then presses *accept*, and updates an earlier answer; the store must end with exactly
the texts and verdicts that were on screen. Screenshots of a transcript task and a code task are
kept under tests/artifacts/ for a person to look at."""

from __future__ import annotations

import shutil

import orjson
import pytest
from playwright.sync_api import expect

from browser_fixture import chromium
from conftest import REPO, run_json
from service_fixture import free_port
from review_fixture import review_env, seed_sample, serving, settled, store_db

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

ARTIFACTS = REPO / "tests" / "artifacts"
ADMIN = ("admin@example.com", "change-me-please")  # tests/label_studio_fixture.py CREDS


@pytest.fixture(scope="module")
def browser():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("the review screen test needs Debian's chromium: apt-get install -y chromium")
    with chromium(path) as browser:
        yield browser


@pytest.fixture(scope="module")
def store(tmp_path_factory, label_studio):
    """Transcript turns (extracted) and the bundled code examples (imported), pushed by kind and
    source: a first push by id alone would have sent only one of them."""
    root = tmp_path_factory.mktemp("review-screen")
    port = free_port()
    env = review_env(root, label_studio, "curator review screen", port)
    seed_sample(env)
    run_json(["review", "setup"], env)
    first = run_json(["review", "push", "--kind", "extracted", "--limit", "5"], env)
    with store_db(env) as conn:
        code = conn.execute("SELECT name FROM sources WHERE name ILIKE '%codegen%'").fetchone()[0]
    second = run_json(["review", "push", "--source", code, "--limit", "1"], env)
    assert first["pushed"] == 5 and second["pushed"] == 1
    assert first["pii_scanned"] == 5, "examples never scanned are scanned before they reach a reviewer"
    return {"env": env, "port": port, "code_source": code}


@pytest.fixture
def page(browser, label_studio):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{label_studio.url}/user/login/")
    page.fill("input[name=email]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    yield page
    context.close()


def _tasks(env) -> list[dict]:
    with store_db(env) as conn:
        rows = conn.execute(
            "SELECT t.ls_project_id, t.ls_task_id, t.example_id, t.draft, e.kind FROM review_tasks t "
            "JOIN examples e ON e.id = t.example_id ORDER BY t.ls_task_id").fetchall()
    return [dict(zip(("project", "task", "example", "draft", "kind"), r)) for r in rows]


def _open(page, label_studio, task: dict, fresh: bool = True):
    page.goto(f"{label_studio.url}/projects/{task['project']}/data?task={task['task']}")
    # Label Studio is a single-page app: wait for this task's own header, not the previous task's form.
    page.locator(".cur-meta", has_text=f"Example {task['example']} ·").wait_for(timeout=60_000)
    page.get_by_text("Accept: the response is right as it is").wait_for(timeout=60_000)
    box = page.locator(".cur-response textarea")
    if fresh:  # the box gets the draft after the form is drawn: typing earlier (a loaded machine)
        # is overwritten by the draft, and the reviewer's edit never reaches the annotation
        expect(box).to_have_value(task["draft"], timeout=60_000)
    return box


def _submit(page, button: str = "Submit") -> None:
    with page.expect_response(lambda r: "/annotations" in r.url and r.request.method in ("POST", "PATCH")
                              and r.status < 300, timeout=30_000):
        page.locator("button", has_text=button).last.click()


def test_transcript_screen_reads_as_a_conversation(page, label_studio, store):
    task = next(t for t in _tasks(store["env"]) if t["kind"] == "extracted")
    box = _open(page, label_studio, task)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-transcript-task.png"))
    assert box.is_editable() and box.input_value() == task["draft"], "the draft sits in an editable box"
    turns = page.locator("#cur-source .turn")
    assert turns.count() > 3, "one line per turn"
    speakers = {t.split(":", 1)[0] for t in turns.all_inner_texts()}
    assert speakers <= {"Doctor", "Patient", "Guest_family", "Guest_clinician"} and "Doctor" in speakers
    marked = " ".join(page.locator("#cur-source mark").all_inner_texts())
    assert marked.strip() == task["draft"].strip(), "only the grounding turn is highlighted"
    assert "USER:" not in page.content() and "ASSISTANT:" not in page.content()
    pii = page.locator(".cur-pii").inner_text()
    assert pii != "none found" and (pii == "none found (scanned)" or ":" in pii)


def test_code_screen_keeps_indentation(page, label_studio, store):
    task = next(t for t in _tasks(store["env"]) if t["kind"] == "imported")
    box = _open(page, label_studio, task)
    page.screenshot(path=str(ARTIFACTS / "review-code-task.png"))
    assert box.input_value() == task["draft"], "the box holds the draft byte for byte (indentation too)"
    assert page.locator("#cur-source").count() == 0, "no source block for an example without a source"
    assert "Source excerpt" not in page.content()


def test_task_list_shows_no_markup(page, label_studio, store):
    task = _tasks(store["env"])[0]
    page.goto(f"{label_studio.url}/projects/{task['project']}/data")
    page.get_by_text("Tasks:").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    shown = page.locator("body").inner_text()
    assert str(task["example"]) in shown, "the task list is drawn"
    assert "<div" not in shown and "<p>" not in shown and "cur-meta" not in shown, "the HTML fields stay hidden"


@pytest.fixture(scope="module")
def document_task(store):
    """One grounded example synthesised from a bundled NDA through the local OpenAI-compatible
    server (the project's stand-in for the provider), pushed by kind."""
    from openai_server import OpenAIServer
    from openai_server import respond

    server = OpenAIServer().start()
    server.respond = respond
    try:
        env = dict(store["env"], CURATOR_OPENAI_BASE_URL=server.base_url, CURATOR_OPENAI_API_KEY="test-key",
                   CURATOR_MODEL="gpt-4o-mini", CURATOR_MAX_RETRIES="1", CURATOR_REQUEST_TIMEOUT="10")
        run_json(["candidates", "synthesize", "--template", "qa", "--limit", "1"], env)
    finally:
        server.stop()
    assert run_json(["review", "push", "--kind", "synthetic", "--limit", "1"], store["env"])["pushed"] == 1
    return next(t for t in _tasks(store["env"]) if t["kind"] == "synthetic")


def test_document_screen_highlights_the_evidence(page, label_studio, store, document_task):
    box = _open(page, label_studio, document_task)
    page.screenshot(path=str(ARTIFACTS / "review-document-task.png"))
    assert box.input_value() == document_task["draft"]
    assert page.locator("#cur-source mark").count() == 1, "the evidence quote is highlighted in the document"
    assert page.locator(".cur-pii").inner_text() != "not checked", "synthesis scanned it"


def test_verdicts_on_screen_are_what_the_store_holds(page, label_studio, store):
    env, port = store["env"], store["port"]
    tasks = [t for t in _tasks(env) if t["kind"] == "extracted"][:5]
    accept, edit, reject, edit_then_accept, updated = tasks
    key = run_json(["keys", "create", "--name", "screen", "--role", "steward"], env)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    with serving(env, port) as url:
        _open(page, label_studio, accept)
        page.get_by_text("Accept: the response is right as it is").click()
        _submit(page)

        box = _open(page, label_studio, edit)
        edited = edit["draft"] + "\nReviewed: dose confirmed against the chart."
        box.fill(edited)
        page.get_by_text("Accept with my edits").click()
        _submit(page)

        _open(page, label_studio, reject)
        page.get_by_text("Reject: must not be used for training").click()
        page.get_by_role("button", name="Submit").first.click()
        warning = page.get_by_text("Give at least one reason for rejecting")
        warning.wait_for(timeout=10_000)
        page.get_by_role("button", name="OK").click()
        page.get_by_text("Unsafe: could harm a patient or client").click()
        page.get_by_placeholder("Anything the next reviewer").fill("would mislead a patient")
        _submit(page)

        box = _open(page, label_studio, edit_then_accept)
        changed = edit_then_accept["draft"].replace(" .", ".") + " (corrected)"
        box.fill(changed)
        page.get_by_text("Accept: the response is right as it is").click()
        _submit(page)

        _open(page, label_studio, updated)
        page.get_by_text("Accept: the response is right as it is").click()
        _submit(page)
        _open(page, label_studio, updated, fresh=False)  # the reviewer comes back and changes their mind
        # The form first draws empty, then Label Studio loads the submitted answer into it.
        page.get_by_role("button", name="Edit Region").wait_for(timeout=60_000)
        page.locator("button", has_text="Update").last.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "review-update-answer.png"))
        assert page.get_by_role("button", name="Delete Region").is_hidden(), "no button deletes the response"
        page.get_by_role("button", name="Edit Region").click()
        revised = updated["draft"] + " Follow up in two weeks."
        page.locator(".cur-response textarea").fill(revised)
        page.get_by_text("Accept with my edits").click()
        _submit(page, "Update")

        settled(url, headers)
    with store_db(env) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            "SELECT o.example_id, o.verdict, e.status, e.messages FROM review_outcomes o "
            "JOIN examples e ON e.id = o.example_id").fetchall()}
        reasons = dict(conn.execute("SELECT example_id, reasons FROM current_reviews").fetchall())
        comment = conn.execute("SELECT comment FROM current_reviews WHERE example_id = ?",
                               [reject["example"]]).fetchone()[0]

    def last_assistant(messages: str) -> str:
        return [m for m in orjson.loads(messages) if m["role"] == "assistant"][-1]["content"]

    assert rows[accept["example"]][:2] == ("accept", "approved")
    assert last_assistant(rows[accept["example"]][2]) == accept["draft"]
    assert rows[edit["example"]][:2] == ("edit", "approved")
    assert last_assistant(rows[edit["example"]][2]) == edited
    assert rows[reject["example"]][:2] == ("reject", "rejected")
    assert orjson.loads(reasons[reject["example"]]) == ["unsafe"] and comment == "would mislead a patient"
    assert rows[edit_then_accept["example"]][:2] == ("edit", "approved"), "a changed text is an edit"
    assert last_assistant(rows[edit_then_accept["example"]][2]) == changed
    assert rows[updated["example"]][:2] == ("edit", "approved"), "the updated answer replaced the first"
    assert last_assistant(rows[updated["example"]][2]) == revised
    # A pull finds nothing the webhooks missed.
    assert run_json(["review", "pull"], env)["recorded"] == 0

