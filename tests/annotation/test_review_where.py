"""`review push --where`: candidates picked by the user's SQL predicate over examples, through the
real CLI and the real API (same parameter name), pushed to the real Label Studio (session
fixture). The predicate passes the read-only SQL guard or is refused with an error naming the
option, before Label Studio is contacted."""

from __future__ import annotations

import pytest

import service_fixture
from conftest import REPO, make_env, query, run_curator, run_json

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

SAMPLES = REPO / "examples" / "data"
REFUSED = {
    "id IN (SELECT example_id FROM reviews)": "refuses table reviews",
    "1=1; DELETE FROM examples": "does not parse",
    "nextval('example_id_seq') > 0": "refuses nextval",
    "id IN (SELECT 1 FROM read_csv('/etc/passwd'))": "refuses the table function read_csv",
    "no_such_column = 1": "no_such_column",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory, label_studio):
    root = tmp_path_factory.mktemp("review-where")
    env = make_env(root, CURATOR_LABEL_STUDIO_URL=label_studio.url, CURATOR_LABEL_STUDIO_TOKEN=label_studio.token,
                   CURATOR_LABEL_STUDIO_PROJECT="curator review where", CURATOR_WEBHOOK_SECRET="where-secret",
                   CURATOR_REVIEW_WEBHOOK_URL=f"http://127.0.0.1:{service_fixture.free_port()}/webhooks/label-studio",
                   CURATOR_REVIEW_PULL_INTERVAL="0")
    run_curator(["ingest", str(SAMPLES / "gpteacher-codegen-sample.json"), str(SAMPLES / "bitext-support-sample.csv")],
                env)
    run_json(["review", "setup"], env)
    return env


def _pushed(env) -> list[tuple[int, int, str]]:
    return query(env, "SELECT e.id, e.source_id, e.kind FROM review_tasks t JOIN examples e ON e.id = t.example_id "
                      "ORDER BY e.id")


def test_cli_pushes_only_what_the_predicate_selects_and_refuses_the_rest(env):
    ((code,),) = query(env, "SELECT id FROM sources WHERE name ILIKE '%codegen%'")
    predicate = f"source_id = {code} AND id % 2 = 0"
    ((matching,),) = query(env, f"SELECT count(*) FROM examples WHERE {predicate}")
    report = run_json(["review", "push", "--where", predicate, "--order", "newest", "--limit", "4"], env)
    assert report["pushed"] == 4 and report["why"] == {"order": "newest", "where": predicate,
                                                       "where_matched": matching}
    pushed = _pushed(env)
    assert len(pushed) == 4 and all(source == code and i % 2 == 0 for i, source, _ in pushed)
    newest = query(env, f"SELECT id FROM examples WHERE {predicate} ORDER BY id DESC LIMIT 4")
    assert sorted(i for i, _, _ in pushed) == sorted(i for (i,) in newest)
    for bad, why in REFUSED.items():
        proc = run_curator(["review", "push", "--where", bad], env, check=False)
        assert proc.returncode == 1 and "--where" in proc.stderr and why in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert _pushed(env) == pushed, "a refused predicate pushes nothing"


def test_api_takes_the_same_parameter(env):
    key = run_json(["keys", "create", "--name", "where-steward", "--role", "steward"], env)["key"]
    before = {i for i, _, _ in _pushed(env)}
    served = service_fixture.start(env)
    try:
        with served.client(key) as client:
            done = client.post("/review/push", json={"where": "kind = 'imported' AND id % 2 = 1", "limit": 3})
            refused = client.post("/review/push", json={"where": "id IN (SELECT example_id FROM reviews)"})
    finally:
        served.stop()
    assert done.status_code == 200, done.text
    assert done.json()["pushed"] == 3 and done.json()["why"]["where"] == "kind = 'imported' AND id % 2 = 1"
    new = [(i, kind) for i, _, kind in _pushed(env) if i not in before]
    assert len(new) == 3 and all(i % 2 == 1 and kind == "imported" for i, kind in new)
    assert refused.status_code == 400 and "--where" in refused.json()["detail"]
    assert "refuses table reviews" in refused.json()["detail"]
