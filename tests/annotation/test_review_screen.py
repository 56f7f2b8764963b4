"""The review screen as a reviewer meets it: the real Label Studio (session fixture) in real
headless Chromium (Debian's ``chromium`` driven by Playwright), the real ``curator serve``
receiving Label Studio's webhooks.

For every example shape the project makes or imports (conversation, note and turns cut from a
transcript, synthesised from a document, imported chat, Alpaca, prompt/completion, code), the
screen must show the whole prompt and every trained turn in its own editable box holding exactly
its stored text. Then a reviewer edits the second of three turns, skips, updates an answer after
an edit, tries "Other" without saying why, and edits code; the store must end with exactly what
was on screen. Screenshots of each shape are kept under tests/artifacts/ for a person to look at."""

from __future__ import annotations

import json
import re
import shutil

import httpx
import orjson
import pytest
from playwright.sync_api import expect

from browser_fixture import chromium
from conftest import REPO, run_json
from service_fixture import free_port
from review_fixture import review_env, seed_sample, serving, settled

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

ARTIFACTS = REPO / "tests" / "artifacts"
ADMIN = ("admin@example.com", "change-me-please")  # tests/label_studio_fixture.py CREDS
# Each shape and the `review push --where` predicate that picks one example of it.
SHAPES = {
    "conversation": "metadata->>'recipe' = 'conversation' AND json_array_length(messages) >= 6",
    "note": "metadata->>'recipe' = 'note'",
    "turns": "metadata->>'recipe' = 'turns' AND json_array_length(messages) = 3",
    "chat": "source_format = 'chat' AND json_array_length(messages) >= 6",
    "synthetic": "kind = 'synthetic'",
    "alpaca": "source_format = 'alpaca' AND messages::VARCHAR ILIKE '%cancel%'",
    "prompt_completion": "source_format = 'prompt_completion'",
    "code": "source_format = 'alpaca' AND messages::VARCHAR LIKE '%#include%'",
}


@pytest.fixture(scope="module")
def browser():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("the review screen test needs Debian's chromium: apt-get install -y chromium")
    with chromium(path) as browser:
        yield browser


def _imports(root, sample) -> list[str]:
    """A chat with three assistant turns and a prompt/completion record, made from the bundled
    support sample's own requests and answers (the prompt framed as a completion prompt, so it is
    not an exact duplicate of the sample's own Alpaca record)."""
    import csv

    with open(sample, newline="", encoding="utf-8") as f:
        rows = [r for _, r in zip(range(6), csv.DictReader(f))]
    chat = {"messages": [{"role": "system", "content": "You are a support agent for an online shop."}]}
    for row in rows[:3]:
        chat["messages"] += [{"role": "user", "content": row["instruction"]},
                             {"role": "assistant", "content": row["response"]}]
    (root / "chats.jsonl").write_text(json.dumps(chat) + "\n", encoding="utf-8")
    (root / "completions.jsonl").write_text(json.dumps({"prompt": f"Customer: {rows[4]['instruction']}\nAgent:",
                                                        "completion": rows[4]["response"]}) + "\n", encoding="utf-8")
    return [str(root / "chats.jsonl"), str(root / "completions.jsonl")]


def _synthesise(env) -> None:
    """One grounded example from a bundled NDA through the local OpenAI-compatible server (the
    project's stand-in for the provider)."""
    from openai_server import OpenAIServer, respond

    server = OpenAIServer().start()
    server.respond = respond
    try:
        run_json(["candidates", "synthesize", "--template", "qa", "--limit", "1"],
                 dict(env, CURATOR_OPENAI_BASE_URL=server.base_url, CURATOR_OPENAI_API_KEY="test-key",
                      CURATOR_MODEL="gpt-4o-mini", CURATOR_MAX_RETRIES="1", CURATOR_REQUEST_TIMEOUT="10"))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def store(tmp_path_factory, label_studio):
    """The bundled sample extracted by every recipe plus the imports above, one task per shape
    (pushed by a --where predicate each), and the service Label Studio's webhooks reach."""
    root = tmp_path_factory.mktemp("review-screen")
    port = free_port()
    env = review_env(root, label_studio, "curator review screen", port)
    seed_sample(env)
    run_json(["ingest", *_imports(root, REPO / "examples" / "data" / "bitext-support-sample.csv")], env)
    for recipe in ("conversation", "note"):
        run_json(["candidates", "extract", "--recipe", recipe], env)
    _synthesise(env)
    run_json(["dedup", "--target", "examples"], env)
    run_json(["review", "setup"], env)
    for shape, where in SHAPES.items():
        pushed = run_json(["review", "push", "--where", where, "--limit", "3" if shape == "conversation" else "1"], env)
        assert pushed["pushed"] >= 1, (shape, pushed)
    key = run_json(["keys", "create", "--name", "screen", "--role", "steward"], env)["key"]
    with serving(env, port) as url:
        yield {"env": env, "url": url, "headers": {"Authorization": f"Bearer {key}"}}


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


def _query(store, sql: str) -> list[list]:
    """The store as a steward reads it while the service owns the file: through POST /sql."""
    response = httpx.post(f"{store['url']}/sql", json={"sql": sql}, headers=store["headers"], timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def _json(value):
    return orjson.loads(value) if isinstance(value, str) else value


def _tasks(store, where: str = "true") -> list[dict]:
    rows = _query(store,
                  "SELECT t.ls_project_id, t.ls_task_id, t.example_id, e.messages, e.kind, e.status FROM review_tasks t "
                  "JOIN examples e ON e.id = t.example_id JOIN review_projects p USING (ls_project_id) "
                  f"WHERE p.role = 'review' AND ({where}) ORDER BY t.example_id")
    return [{"project": r[0], "task": r[1], "example": r[2], "messages": _json(r[3]), "kind": r[4],
             "status": r[5]} for r in rows]


def _one(store, shape: str) -> dict:
    where = re.sub(r"\b(metadata|messages|source_format|kind)\b", r"e.\1", SHAPES[shape])
    found = _tasks(store, where)
    assert found, f"no task of shape {shape}"
    return found[0]


def _trained(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "assistant"]


def _open(page, label_studio, task: dict, fresh: bool = True):
    page.goto(f"{label_studio.url}/projects/{task['project']}/data?task={task['task']}")
    # Label Studio is a single-page app: wait for this task's own header, not the previous task's form.
    page.locator(".cur-meta", has_text=f"Example {task['example']} ·").wait_for(timeout=60_000)
    page.get_by_text("Accept: the response is right as it is").wait_for(timeout=60_000)
    boxes = page.locator(".cur-response textarea")
    if fresh:  # the boxes get their drafts after the form is drawn: typing earlier is overwritten
        for i, text in enumerate(_trained(task["messages"])):
            expect(boxes.nth(i)).to_have_value(text, timeout=60_000)
        page.wait_for_load_state("networkidle")
    return boxes


def _submit(page, button: str = "Submit") -> None:
    with page.expect_response(lambda r: "/annotations" in r.url and r.request.method in ("POST", "PATCH", "PUT")
                              and r.status < 300, timeout=30_000):
        page.locator("button", has_text=button).last.click()


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_trained_turn_is_in_an_editable_box_and_the_prompt_is_shown(page, label_studio, store, shape):
    task = _one(store, shape)
    boxes = _open(page, label_studio, task)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-{shape}-task.png"))
    messages, trained = task["messages"], _trained(task["messages"])
    assert boxes.count() == len(trained), "one box per trained turn"
    for i, text in enumerate(trained):
        assert boxes.nth(i).is_editable() and boxes.nth(i).input_value() == text, f"box {i + 1} holds its turn exactly"
    first = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    prompt = _words(page.locator("#cur-prompt").inner_text()) if first else ""
    for m in messages[:first]:
        assert _words(m["content"])[:300] in prompt, f"the {m['role']} message of the prompt is on screen"
    between = _words(" ".join(page.locator(".cur-between").all_inner_texts()))
    for m in messages[first:]:
        if m["role"] != "assistant":
            assert _words(m["content"])[:200] in between, "the context between trained turns is shown read-only"
    heads = page.locator(".cur-turn-head").all_inner_texts()
    assert len(heads) == len(trained) and all("trained" in h for h in heads)
    if shape == "note":
        assert "Write the" in prompt, "a note's instruction is on screen"
        assert page.locator("#cur-source").count() == 0, "the transcript is in the prompt: no second copy beside it"
    if shape in ("conversation", "turns"):
        marked = _words(" ".join(page.locator("#cur-source mark").all_inner_texts()))
        assert marked and all(_words(t)[:60] in marked for t in trained), "the turns under review are highlighted"
    if shape == "synthetic":
        assert page.locator("#cur-source mark").count() == 1, "the evidence is highlighted in the document"
    if task["kind"] == "imported":
        assert page.locator("#cur-source").count() == 0, "no source block for an example without a source"
    for clutter in ("Quality flags", "Model judge", "View region details", "Compare All"):
        assert not page.get_by_text(clutter).first.is_visible(), f"{clutter!r} is not shown when empty"


def _stored(store, example_id: int) -> tuple[list[dict], str, str | None]:
    (messages, status, verdict), = _query(store, "SELECT e.messages, e.status, o.verdict FROM examples e LEFT JOIN "
                                                 f"review_outcomes o ON o.example_id = e.id WHERE e.id = {int(example_id)}")
    return _json(messages), status, verdict


def test_editing_the_second_of_three_turns_changes_that_turn_alone(page, label_studio, store):
    task = _one(store, "chat")
    before = task["messages"]
    assert len(_trained(before)) == 3
    boxes = _open(page, label_studio, task)
    edited = _trained(before)[1] + "\nIf the order has shipped, call us on 212-555-0147 to start a return."
    boxes.nth(1).fill(edited)
    page.get_by_text("Accept: the response is right as it is").click()  # the changed box makes it an edit
    expect(boxes.nth(1)).to_have_value(edited)
    _submit(page)
    settled(store["url"], store["headers"])
    after, status, verdict = _stored(store, task["example"])
    assert (status, verdict) == ("approved", "edit")
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    second = [i for i, m in enumerate(before) if m["role"] == "assistant"][1]
    assert changed == [second] and after[second]["content"] == edited, "that turn alone, byte for byte"
    assert orjson.dumps(after[:second]) == orjson.dumps(before[:second])
    (findings,), = _query(store, f"SELECT pii_findings FROM examples WHERE id = {task['example']}")
    assert any(f["message"] == second and f["type"] == "PHONE_NUMBER" for f in _json(findings)), \
        "the personal-data scan describes the text as edited"


def test_a_skip_is_recorded_and_the_task_stays_open(page, label_studio, store):
    project = _one(store, "turns")["project"]
    page.goto(f"{label_studio.url}/projects/{project}/data?labeling=1")  # the reviewer's queue
    meta = page.locator(".cur-meta").first
    meta.wait_for(timeout=60_000)
    page.locator(".cur-response textarea").first.wait_for(timeout=60_000)
    example = int(re.search(r"Example (\d+)", meta.inner_text()).group(1))
    instructions = page.locator(".lsf-modal-ls_visible")  # the queue opens with the instructions
    if instructions.count():
        assert "Accept with my edits" in instructions.inner_text(), "the instructions name the buttons as they read"
        page.screenshot(path=str(ARTIFACTS / "review-instructions.png"))
        page.keyboard.press("Escape")
        expect(instructions).to_have_count(0, timeout=10_000)
    _submit(page, "Skip")
    settled(store["url"], store["headers"])
    row, = _query(store, f"SELECT skipped, outcome, verdict FROM current_reviews WHERE example_id = {example}")
    (status,), = _query(store, f"SELECT status FROM examples WHERE id = {example}")
    (outcome,), = _query(store, f"SELECT count(*) FROM review_outcomes WHERE example_id = {example}")
    assert row == [True, "skip", None], "a skip is recorded as a skip, not a verdict"
    assert status == "in_review" and outcome == 0, "the task waits for another reviewer"


def test_an_update_after_an_edit_saves_the_new_text(page, label_studio, store):
    task = _tasks(store, "e.metadata->>'recipe' = 'conversation' AND e.status = 'in_review'")[-1]
    trained = _trained(task["messages"])
    _open(page, label_studio, task)
    page.get_by_text("Accept: the response is right as it is").click()
    _submit(page)
    settled(store["url"], store["headers"])
    boxes = _open(page, label_studio, task, fresh=False)  # the reviewer comes back and changes their mind
    update = page.locator("button", has_text="Update").last
    update.wait_for(timeout=60_000)
    expect(boxes.last).to_have_value(trained[-1], timeout=60_000)
    assert boxes.last.is_editable(), "a submitted answer comes back in open boxes"
    revised = trained[-1] + " Follow up in two weeks."
    boxes.last.fill(revised)
    expect(page.locator(".cur-update-hint")).to_be_visible()  # says how to wake Update while it is grey
    page.get_by_text("Accept with my edits").click()  # leaving the box hands Label Studio its text
    expect(update).to_be_enabled(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "review-update-answer.png"))
    _submit(page, "Update")
    settled(store["url"], store["headers"])
    after, status, verdict = _stored(store, task["example"])
    assert (status, verdict) == ("approved", "edit")
    assert _trained(after)[-1] == revised and _trained(after)[:-1] == trained[:-1]


def test_other_without_a_comment_is_refused(page, label_studio, store):
    task = _one(store, "prompt_completion")
    _open(page, label_studio, task)
    page.get_by_text("Reject: must not be used for training").click()
    page.get_by_text("Other: explain in the comment").click()
    page.get_by_role("button", name="Submit").first.click()
    page.get_by_text("You chose Other").wait_for(timeout=10_000)
    page.get_by_role("button", name="OK").click()
    page.get_by_text("What is wrong? (required for Other)").wait_for()
    other = page.locator("textarea[name='other_reason']")
    other.fill("answers a different order")
    _submit(page)
    settled(store["url"], store["headers"])
    (reasons, comment, outcome), = _query(store, "SELECT reasons, comment, outcome FROM current_reviews "
                                                 f"WHERE example_id = {task['example']}")
    assert _json(reasons) == ["other"] and comment == "answers a different order" and outcome == "reject"


def test_code_is_edited_in_a_monospace_box_that_keeps_its_indentation(page, label_studio, store):
    task = _one(store, "code")
    code = _trained(task["messages"])[0]
    box = _open(page, label_studio, task).first
    assert box.input_value() == code, "the box holds the code byte for byte"
    style = box.evaluate("b => [getComputedStyle(b).fontFamily, getComputedStyle(b).whiteSpace]")
    assert "mono" in style[0].lower() and style[1] == "pre", style
    fixed = code.replace("    return 0;}", "    return 0;\n}")
    box.fill(fixed)
    page.get_by_text("Accept with my edits").click()
    _submit(page)
    settled(store["url"], store["headers"])
    after, _, verdict = _stored(store, task["example"])
    assert verdict == "edit" and _trained(after)[0] == fixed and "\n    int area" in _trained(after)[0]


def test_a_pull_finds_nothing_the_webhooks_missed(store):
    """The CLI is the running service's client: the pull runs as a job there."""
    assert run_json(["review", "pull"], dict(store["env"], CURATOR_API_KEY=store["headers"]["Authorization"][7:]))[
        "recorded"] == 0
