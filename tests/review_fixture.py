"""What the review tests share: the environment of a store wired to the test Label Studio, the
bundled sample as candidates, the service Label Studio's webhooks reach, and planned annotations
with what the store must hold for each."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import httpx

import service_fixture
from annotation.labeling import REASONS
from conftest import REPO, make_env, run_curator

SECRET = "test-webhook-secret"
REVIEWER_B = "reviewer.b@example.com"


def review_env(root: Path, label_studio, title: str, port: int) -> dict[str, str]:
    return make_env(root, CURATOR_LABEL_STUDIO_URL=label_studio.url, CURATOR_LABEL_STUDIO_TOKEN=label_studio.token,
                    CURATOR_LABEL_STUDIO_PROJECT=title, CURATOR_WEBHOOK_SECRET=SECRET,
                    CURATOR_REVIEW_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks/label-studio",
                    CURATOR_REVIEW_PULL_INTERVAL="0")


def seed_sample(env: dict[str, str]) -> None:
    """Transcripts first, so the first candidates by id are extracted ones with evidence spans;
    then the rest of the sample (imported examples, no source document)."""
    samples = sorted((REPO / "examples" / "data").iterdir())
    transcripts = [str(p) for p in samples if p.name.startswith(("aci-bench", "mts-dialog"))]
    run_curator(["ingest", *transcripts], env)
    run_curator(["candidates", "extract", "--recipe", "turns"], env)
    run_curator(["ingest", *(str(p) for p in samples if str(p) not in transcripts)], env)


@contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[str]:
    """The real `curator serve` on a fixed port (Label Studio's webhook points at it); a traceback
    in its log fails the test."""
    with service_fixture.start(env, port) as served:
        yield served.url
    assert "Traceback" not in served.log.read_text(), served.log.read_text()


def settled(url: str, headers: dict, timeout: float = 180.0) -> None:
    """Wait until the service has applied every webhook delivery it acknowledged (a generous bound:
    the first edit loads the PII scanner in the service, which takes long on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/webhooks/inbox", headers=headers).json()["pending"]:
        assert time.monotonic() < deadline, "webhook deliveries still pending"
        time.sleep(0.1)


def store_db(env) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(env["CURATOR_DB"], read_only=True)


def planned_answer(i: int, draft: str) -> tuple[list[dict], dict]:
    """A planned annotation (Label Studio result) and what the store must hold for it."""
    verdict = ("accept", "edit", "reject", "accept", "edit")[i % 5]
    text = draft + f"\n\nChecked against the source ({i})." if verdict == "edit" else draft
    reasons = sorted({REASONS[i % len(REASONS)], "other"}) if verdict == "reject" else []
    expected = {"verdict": verdict, "edited_response": text, "rating_correctness": 1 + i % 5,
                "rating_style": 1 + (i * 3) % 5, "reasons": reasons, "comment": f"note {i}" if i % 3 == 0 else None}

    def item(name, kind, value):
        return {"from_name": name, "to_name": "prompt", "type": kind, "value": value}

    result = [item("turn_0", "textarea", {"text": [text]}), item("verdict", "choices", {"choices": [verdict]}),
              item("correctness", "rating", {"rating": expected["rating_correctness"]}),
              item("style", "rating", {"rating": expected["rating_style"]})]
    if reasons:
        result.append(item("reasons", "choices", {"choices": reasons}))
    if expected["comment"]:
        result.append(item("comment", "textarea", {"text": [expected["comment"]]}))
    return result, expected
