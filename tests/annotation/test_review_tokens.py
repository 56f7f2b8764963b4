"""Label Studio reached with a personal access token while legacy tokens are turned off (the
default for new users of current versions), and reconciliation through an export snapshot of
10,000 annotations. A Label Studio of its own (copied from the session's prepared data dir), so
turning legacy tokens off does not touch the other tests' server."""

from __future__ import annotations

import time

import jwt
import pytest

from annotation import server
from annotation.client import LabelStudio, LabelStudioAPIError
from annotation.labeling import labeling_config
from conftest import REPO
from label_studio_fixture import CREDS

pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves it out

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory, label_studio):
    data = server.copy_template(label_studio.template, tmp_path_factory.mktemp("ls-pat") / "data")
    running = server.start(label_studio.venv, data, CREDS)
    try:
        yield running
    finally:
        running.stop()


def _task(i: int) -> dict:
    result = [{"from_name": "verdict", "to_name": "prompt", "type": "choices", "value": {"choices": ["accept"]}},
              {"from_name": "turn_0", "to_name": "prompt", "type": "textarea", "value": {"text": [f"draft {i}"]}}]
    turns = [{"message": 1, "draft": f"draft {i}", "context_html": "", "head_html": ""}]
    return {"data": {"example_id": i, "draft": f"draft {i}", "source_html": "", "prompt_html": "", "meta_html": "",
                     "turns": turns, "pii_html": "", "notes_html": "", "quality": "", "judge": "",
                     "update_hint_html": ""},
            "annotations": [{"result": result}]}


def test_personal_access_token_with_legacy_tokens_off_and_a_snapshot_of_10000(own_server):
    with LabelStudio(own_server.url, own_server.token) as legacy:
        assert legacy.whoami()["email"] == CREDS.username, "a legacy token works while allowed"
        personal = legacy.sdk.tokens.create().token
        ttl = legacy.sdk.jwt_settings.get().api_token_ttl_days
        legacy.sdk.jwt_settings.update(api_token_ttl_days=ttl, api_tokens_enabled=True, legacy_api_tokens_enabled=False)
    assert jwt.decode(personal, options={"verify_signature": False})["token_type"] == "refresh"
    refused = "GET /api/current-user/whoami/? answered 401"  # the adapter names method, path and status
    with LabelStudio(own_server.url, own_server.token) as legacy, pytest.raises(LabelStudioAPIError, match=refused):
        legacy.whoami()
    with LabelStudio(own_server.url, personal) as client:
        assert client.whoami()["email"] == CREDS.username
        project = client.create_project(title="personal access token", label_config=labeling_config())
        for start in range(0, 10_000, 2_000):
            client.import_tasks(project["id"], [_task(i) for i in range(start, start + 2_000)])
        began = time.monotonic()
        tasks = client.export_snapshot(project["id"])
        seconds = time.monotonic() - began
    annotations = [a for t in tasks for a in t["annotations"]]
    assert len(annotations) == 10_000
    assert sorted(t["data"]["example_id"] for t in tasks) == list(range(10_000))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "review-snapshot-10000.txt").write_text(
        f"export snapshot of 10,000 annotations (create, poll, download): {seconds:.1f} s\n")
    print(f"export snapshot of 10,000 annotations: {seconds:.1f} s")
