"""The stats page in a real headless Chromium (Debian's `chromium`, driven by Playwright): log in
with a key, check the charts drew with the numbers the API reports, open a version, and keep a
screenshot under tests/artifacts/. The page must load nothing but the service itself."""

from __future__ import annotations

import shutil

import pytest

from browser_fixture import chromium
from conftest import REPO
from stats_store import build
from service_fixture import serving_with_keys

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("the stats page test needs Debian's chromium: apt-get install -y chromium "
                    "(.ci/run installs it when missing)")
    return path


@pytest.fixture(scope="module")
def service(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("page")
    build(root, shared_data)
    with serving_with_keys(root) as svc:
        yield svc


@pytest.fixture(scope="module")
def browser(chromium_path):
    with chromium(chromium_path) as browser:
        yield browser


@pytest.fixture
def page(browser, service):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    yield page
    context.close()


def _bars(page, chart: str) -> list[tuple[str, float]]:
    return [(rect.get_attribute("data-label"), float(rect.get_attribute("data-value")))
            for rect in page.locator(f'svg.chart[data-chart="{chart}"] rect.bar').all()]


def _login(page, service, key: str):
    page.goto(f"{service.url}/")
    assert page.url.endswith("/login"), "an anonymous visitor is sent to the login form"
    page.fill("#key", key)
    page.click("button[type=submit]")


def test_page_draws_the_charts_after_login(page, service):
    with service.as_role("steward") as client:
        report = client.get("/stats/report").json()
    _login(page, service, "cur_wrong-key")
    assert "invalid or revoked" in page.locator("#login-error").inner_text()
    _login(page, service, service.keys["steward"])
    page.wait_for_selector('svg.chart[data-chart="funnel"]')
    cookie = next(c for c in page.context.cookies() if c["name"] == "curator_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0
    assert service.keys["steward"] not in cookie["value"], "the browser holds a session, never the key"

    funnel = report["funnel"]
    assert _bars(page, "funnel") == [(k.replace("_", " "), float(v)) for k, v in funnel.items()]
    for role in ("user", "assistant", "total"):
        hist = report["lengths"]["roles"][role]["histogram"]
        assert _bars(page, f"lengths-{role}") == [(b["bin"], float(b["n"])) for b in hist], role
    assert page.locator('svg.chart[data-chart="lengths-system"]').count() == 0  # no system messages
    agreement = report["reviews"]["agreement"]
    assert _bars(page, "agreement")[:2] == [("verdict (all pairs)", agreement["verdict"]),
                                            ("keep or reject", agreement["keep_or_reject"])]
    assert len(_bars(page, "agreement")) == 2 + len(agreement["by_pair"])
    # the bars really drew: laid out with a height/width by the browser
    box = page.locator('svg.chart[data-chart="funnel"] rect.bar').first.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 10
    versions_table = page.locator("#versions").inner_text()
    cost = report["versions"][0]["generation"]["attributed_cost_usd"]
    assert "support@1" in versions_table and f"{cost:.4f}" in versions_table
    assert page.get_by_role("link", name="review in Label Studio").get_attribute("href").startswith("http")
    progress = report["counts"]["by_source_status"]
    assert [page.locator(f'#progress tr[data-source="{r["source"]}"]').inner_text().split()[1:]
            for r in progress] == [[str(r[s]) for s in ("candidate", "in_review", "approved", "rejected", "examples")]
                                   for r in progress]
    assert sum(r["rejected"] for r in progress) == report["counts"]["by_status"]["rejected"]
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "stats_page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    page.click("text=support@1 >> nth=0")
    page.wait_for_selector('svg.chart[data-chart="splits"]')
    with service.as_role("steward") as client:
        version = client.get("/stats/report", params={"version": "support@1"}).json()
    assert _bars(page, "splits") == [(k, float(v)) for k, v in version["counts"]["by_split"].items()]
    assert _bars(page, "funnel")[-1] == ("in version", float(version["lengths"]["examples"]))
    assert _bars(page, "lengths-assistant") == [(b["bin"], float(b["n"]))
                                                for b in version["lengths"]["roles"]["assistant"]["histogram"]]
    page.screenshot(path=str(ARTIFACTS / "stats_page_version.png"), full_page=True)
    assert all(url.startswith(service.url) for url in page.requests), "the page must load nothing from outside"

    # the rejected examples: a readable list, a page at a time (the planted ones carry no review)
    page.goto(f"{service.url}/")
    page.get_by_role("link", name="rejected examples").click()
    page.wait_for_selector("#rejected")
    rejected = report["counts"]["by_status"]["rejected"]
    assert f"{rejected} rejected examples" in page.locator("#rejected-summary").inner_text()
    assert page.locator("#rejected tr[data-example]").count() == min(rejected, 100)
    assert "none given" in page.locator("#rejected tr[data-example]").first.inner_text()
    page.get_by_role("link", name="older").click()
    page.wait_for_selector("#rejected")
    assert page.locator("#rejected tr[data-example]").count() == min(rejected - 100, 100)
    page.screenshot(path=str(ARTIFACTS / "rejected_examples_page.png"), full_page=True)

    page.goto(f"{service.url}/?version=<script>window.pwned=1</script>@1")
    assert "<script>window.pwned=1</script>" in page.locator("#error").inner_text()
    assert page.evaluate("window.pwned") is None, "the version parameter must be escaped"

    page.goto(f"{service.url}/")
    page.click("text=Log out")
    page.goto(f"{service.url}/")
    assert page.url.endswith("/login")


def test_cookie_login_works_for_the_api_and_reviewers_are_turned_away(page, service):
    _login(page, service, service.keys["reviewer"])
    assert "needs steward" in page.locator("#login-error").inner_text()
    assert page.locator("svg.chart").count() == 0
    page.fill("#key", service.keys["steward"])  # the refusal shows the form again: log in as a steward
    page.click("button[type=submit]")
    page.wait_for_selector('svg.chart[data-chart="funnel"]')
    body = page.request.get(f"{service.url}/stats/versions").json()  # the cookie stands in for Bearer
    assert [v["name"] for v in body] == ["support"]


def test_login_session_is_signed_expiring_and_ends_with_its_key(service):
    """No browser needed: the session cookie over plain HTTP, forged, and after its key is revoked."""
    import httpx

    with service.as_role("admin") as admin:
        key = admin.post("/keys", json={"name": "page-session", "role": "steward"}).json()["key"]
    with httpx.Client(base_url=service.url) as fresh:  # the form first, for its CSRF token
        form = fresh.get("/login").text
        csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
        login = fresh.post("/login", data={"key": key, "csrf_token": csrf})
    token = login.cookies["curator_session"]
    assert login.status_code == 303 and key not in token and "Max-Age=" in login.headers["set-cookie"]
    with httpx.Client(base_url=service.url, cookies={"curator_session": token}) as browser:
        assert browser.get("/stats/versions").status_code == 200
        key_id, expires, signature = token.split(".")
        forged = f"{key_id}.{int(expires) + 10**6}.{signature}"
        assert browser.get("/stats/versions", cookies={"curator_session": forged}).status_code == 401
        with service.as_role("admin") as admin:
            assert admin.delete("/keys/page-session").status_code == 200
        refused = browser.get("/stats/versions")
        assert refused.status_code == 401 and "session" in refused.json()["detail"]
        assert browser.get("/", follow_redirects=False).headers["location"] == "/login"
