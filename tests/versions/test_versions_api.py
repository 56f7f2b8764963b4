"""Versions and exports over HTTP: the real `curator serve` on a store built with the real CLI
from MTS-Dialog (note examples, approved in SQL as review would), steward and reviewer keys."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from conftest import make_env, run_curator
from service_fixture import serving_with_keys

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

CORPUS = "mts-dialog/Main-Dataset/MTS-Dialog-ValidationSet.csv"


@pytest.fixture(scope="module")
def service(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("versions_api")
    env = make_env(root)
    run_curator(["ingest", str(shared_data / CORPUS)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    with duckdb.connect(str(root / "curator.duckdb")) as conn:
        conn.execute("UPDATE examples SET status = 'approved'")
    with serving_with_keys(root) as svc:
        yield svc


def test_versions_and_exports_over_http(service):
    steward, reviewer = service.as_role("steward"), service.as_role("reviewer")
    assert reviewer.get("/versions").status_code == 403
    assert reviewer.post("/versions", json={"name": "api"}).status_code == 403
    bad = steward.post("/versions", json={"name": "api", "where": "id IN (SELECT id FROM examples)"})
    assert bad.status_code == 400 and "subqueries are refused" in bad.json()["detail"]
    assert steward.post("/versions", json={"name": "api", "split": "0.5,0.6"}).status_code == 400

    v1 = steward.post("/versions", json={"name": "api", "seed": 5})
    assert v1.status_code == 201, v1.text
    ref = v1.json()["ref"]
    assert ref == "api@1" and v1.json()["status"] == "draft"
    assert [v["ref"] for v in steward.get("/versions").json()] == [ref]
    shown = steward.get(f"/versions/{ref}").json()
    assert shown["verified"] and shown["content_hash"] == v1.json()["content_hash"]
    assert steward.get("/versions/api@9").status_code == 404
    for method in ("put", "patch", "delete"):  # no route changes a version
        assert getattr(steward, method)(f"/versions/{ref}").status_code == 405

    # The MTS-Dialog notes hold real cross-visit copies: the splitter grouped them by the gate's own
    # relation (their shared note n-grams), so the version is approved as cut; the report says so.
    grouped = v1.json()["grouping"]["report"]
    assert grouped["ngram_links"] >= 1 and grouped["largest"][0]["examples"] >= 2
    approved1 = steward.post(f"/versions/{ref}/approve")
    assert approved1.status_code == 200, approved1.text
    assert approved1.json()["leakage"] == steward.get(f"/versions/{ref}/leakage").json()
    assert approved1.json()["leakage"]["clean"]
    # A user key joins the groups: every example of one section type in one group (and split).
    v2 = steward.post("/versions", json={"name": "api", "seed": 5, "where": "id > 5",
                                         "group_by": "metadata->>'section_header'"}).json()
    assert v2["ref"] == "api@2" and v2["parent_id"] == v1.json()["id"]
    assert v2["grouping"]["group_by"] == "metadata->>'section_header'"
    assert v2["grouping"]["report"]["groups"] < grouped["groups"]
    bad_key = steward.post("/versions", json={"name": "api", "group_by": "getenv('HOME')"})
    assert bad_key.status_code == 400 and "--group-by" in bad_key.json()["detail"]
    approved = steward.post("/versions/api@2/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["approved_by"] == "api:steward"
    assert steward.post("/versions/api@2/approve").status_code == 409
    diff = steward.get("/versions/api@1/diff/api@2").json()
    assert diff["removed"] == [1, 2, 3, 4, 5] and diff["added"] == []

    assert reviewer.post("/exports", json={"version": "api@2"}).status_code == 403
    made = steward.post("/exports", json={"version": "api@2", "format": "openai"})
    assert made.status_code == 201, made.text
    manifest = made.json()
    assert manifest["status"] == "approved" and manifest["content_hash"] == approved.json()["content_hash"]
    assert steward.get("/exports/api@2/openai/manifest.json").json() == manifest
    for name, digest in manifest["files"].items():
        body = steward.get(f"/exports/api@2/openai/{name}").content
        assert hashlib.sha256(body).hexdigest() == digest
    assert steward.get("/exports/api@2/openai/../../../curator.duckdb").status_code == 404
    audit = {(r["action"], r["target"]) for r in service.as_role("admin").get("/audit").json()}
    assert {("version.create", "api@1"), ("version.approve", "api@2"), ("version.export", "api@2")} <= audit


def test_cli_export_through_the_service_downloads_and_checks_every_file(service, tmp_path):
    """The service owns the store: `curator export` runs there as a job, then the CLI downloads the
    files into --out and checks each against the manifest's SHA-256 before moving them in place."""
    import json

    created = json.loads(run_curator(["version", "create", "cli-export", "--json"], service.env).stdout)
    assert json.loads(run_curator(["version", "approve", created["ref"], "--json"], service.env).stdout)["status"] \
        == "approved"
    out = tmp_path / "export"
    manifest = json.loads(run_curator(["export", created["ref"], "--format", "openai", "--out", str(out), "--json"],
                                      service.env).stdout)
    assert manifest["ref"] == created["ref"] and set(manifest["files"]) == {"train.jsonl", "validation.jsonl",
                                                                            "test.jsonl", "README.md"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert json.loads((out / "manifest.json").read_text())["content_hash"] == manifest["content_hash"]
    jobs = json.loads(run_curator(["jobs", "list", "--json"], service.env).stdout)
    assert [j["kind"] for j in jobs[:3]] == ["export", "version.approve", "version.create"]
