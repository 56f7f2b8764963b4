"""The dataset card every export carries, on a version built from the shared corpora: MTS-Dialog
transcripts turned into note examples and bitext-support messages imported as chats (real CLI:
ingest, extract, dedup), with review history, an auto-accept policy and a synthesis run planted
in SQL as those steps write them. The card loads as a Hugging Face ``DatasetCard`` with its
metadata round-tripping, its counts equal the store's, ``datasets`` loads the export through the
card's ``configs``, a second export is byte-identical, and ``--push-to-hub`` sends the folder with
the real ``huggingface_hub`` client to a local Hub that records the requests."""

from __future__ import annotations

import csv
import json
import os
import re

import duckdb
import orjson
import pytest

import hub_server
from conftest import make_env, run_curator

pytestmark = pytest.mark.slow  # end to end through the CLI and the store

os.environ.setdefault("HF_HUB_OFFLINE", "1")
MTS = "mts-dialog/Main-Dataset/MTS-Dialog-ValidationSet.csv"
BITEXT = "bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv"


def _plant(conn: duckdb.DuckDBPyConnection) -> dict:
    """Review, auto-accept and synthesis rows on the store's examples, as those steps record them."""
    from curator.versions.card import describe_source

    describe_source(conn, "MTS-Dialog-ValidationSet", "cli:test", license="CC-BY-4.0", language="en")
    describe_source(conn, "bitext", "cli:test", license="cdla-sharing-1.0", language="en")
    notes = [r[0] for r in conn.execute("SELECT e.id FROM examples e JOIN sources s ON s.id = e.source_id "
                                        "WHERE s.name = 'MTS-Dialog-ValidationSet' ORDER BY e.id").fetchall()]
    chats = [r[0] for r in conn.execute("SELECT e.id FROM examples e JOIN sources s ON s.id = e.source_id "
                                        "WHERE s.name = 'bitext' ORDER BY e.id").fetchall()]
    conn.execute("INSERT INTO review_projects (ls_project_id, role, title, config_hash) VALUES (1, 'review', 't', 'h')")
    reviewed, edited = notes[:10], notes[8:10]  # two reviewers each; on the last two, one of them edited
    for n, ex in enumerate(reviewed):
        messages = orjson.loads(conn.execute("SELECT messages FROM examples WHERE id = ?", [ex]).fetchone()[0])
        shown = [{"message": i, "text": m["content"]} for i, m in enumerate(messages) if m["role"] == "assistant"]
        conn.execute("INSERT INTO review_tasks (example_id, ls_project_id, ls_task_id, draft, turns) VALUES "
                     "(?, 1, ?, ?, ?)", [ex, 100 + n, shown[-1]["text"], orjson.dumps(shown).decode()])
        for k, reviewer in enumerate(("ana@example.org", "ben@example.org")):
            outcome = "edit" if ex in edited and k == 1 else "accept"
            conn.execute("INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, "
                         "received_via, reviewer, verdict, outcome, reasons, payload_hash) VALUES "
                         "(?, 1, ?, ?, 'created', 'webhook', ?, ?, ?, '[]', ?)",
                         [ex, 100 + n, 1000 + 2 * n + k, reviewer, outcome, outcome, f"p{n}{k}"])
        conn.execute("INSERT INTO review_outcomes (example_id, verdict, source, final_response, final_turns, n_reviews) "
                     "VALUES (?, ?, 'agreement', ?, ?, 2)", [ex, "edit" if ex in edited else "accept",
                                                             shown[-1]["text"], orjson.dumps([t["text"] for t in shown]).decode()])
    policy = conn.execute("INSERT INTO auto_accept_policies (source, template, model, template_hash, threshold, target, "
                          "reviewed, precision_lower, audit_share, created_by) VALUES ('bitext', 'rubric', 'judge-m', "
                          "'th', 0.9, 0.95, 200, 0.962, 0.05, 'cli:test') RETURNING id").fetchone()[0]
    auto, audited = chats[:20], chats[20:24]
    for ex in auto + audited:
        conn.execute("INSERT INTO example_auto_accept (example_id, policy_id, score, audit) VALUES (?, ?, 0.97, ?)",
                     [ex, policy, ex in audited])
    for ex in audited:  # the audit sample went to reviewers, who accepted three of four
        conn.execute("INSERT INTO review_outcomes (example_id, verdict, source, n_reviews) VALUES (?, ?, 'single', 1)",
                     [ex, "reject" if ex == audited[-1] else "accept"])
    run = conn.execute("INSERT INTO generation_runs (base_url, model, params, status) VALUES "
                       "('http://llm', 'qwen2.5-7b-instruct', '{}', 'finished') RETURNING id").fetchone()[0]
    synthetic = chats[30:36]
    sent = [{"type": "PERSON", "start": 0, "end": 4, "score": 0.9}, {"type": "EMAIL_ADDRESS", "start": 9, "end": 20,
                                                                     "score": 1.0}]
    for i, ex in enumerate(synthetic):
        stored = [{"message": 1, "role": "assistant", "type": "PHONE_NUMBER", "start": 0, "end": 9, "score": 0.7}]
        conn.execute("UPDATE examples SET kind = 'synthetic', generation_run_id = ?, metadata = ?, pii_findings = ? "
                     "WHERE id = ?", [run, json.dumps({"template": "qa", "pii": sent}),
                                      json.dumps(stored if i < 2 else []), ex])
    conn.execute("INSERT INTO audit_log (actor, action, target, details) VALUES ('cli:test', 'candidates.synthesize', "
                 "'qa', ?)", [json.dumps({"run_id": run, "options": {"pii_policy": "redact"}})])
    conn.execute("UPDATE examples SET status = 'approved' WHERE id <> ?", [audited[-1]])
    conn.execute("UPDATE examples SET status = 'rejected' WHERE id = ?", [audited[-1]])
    return {"reviewed": reviewed, "edited": edited, "auto": auto, "audited": audited, "synthetic": synthetic}


@pytest.fixture(scope="module")
def store(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("card")
    env = make_env(root)
    with open(shared_data / BITEXT, encoding="utf-8", newline="") as fh:
        rows = [r for _, r in zip(range(150), csv.DictReader(fh))]
    (root / "bitext.jsonl").write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": r["instruction"]}, {"role": "assistant", "content": r["response"]}]}) + "\n"
        for r in rows), encoding="utf-8")
    run_curator(["ingest", str(shared_data / MTS)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    run_curator(["ingest", "bitext.jsonl", "--source", "bitext"], env, cwd=root)
    run_curator(["dedup", "--target", "examples"], env)
    from curator.store import open_store
    from curator.versions import approve_version, create_version

    conn = open_store(root / "curator.duckdb")
    planted = _plant(conn)
    create_version(conn, "clinic", "cli:test", seed=3)
    approve_version(conn, "clinic@1", "cli:steward")
    conn.close()
    return {"root": root, "env": env, **planted}


def _export(store, fmt: str, out) -> str:
    run_curator(["export", "clinic@1", "--format", fmt, "--out", str(out)], store["env"])
    return (out / "README.md").read_text(encoding="utf-8")


def _table(text: str, heading: str) -> list[list[str]]:
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|---")][1:]


def test_card_metadata_loads_and_counts_equal_the_store(store, tmp_path):
    from huggingface_hub import DatasetCard

    text = _export(store, "parquet", tmp_path / "parquet")
    card = DatasetCard.load(tmp_path / "parquet" / "README.md")
    assert card.data.to_dict() == DatasetCard(text).data.to_dict()
    assert DatasetCard(f"---\n{card.data.to_yaml()}\n---\n{card.content}").data.to_dict() == card.data.to_dict()
    meta = card.data.to_dict()
    assert meta["license"] == "other" and "cc-by-4.0, cdla-sharing-1.0" in meta["license_details"]
    assert meta["language"] == ["en"] and meta["size_categories"] == ["n<1K"]
    assert meta["task_categories"] == ["text-generation", "question-answering", "summarization"]
    assert meta["configs"] == [{"config_name": "default", "default": True, "data_files": [
        {"split": s, "path": f"{s}.parquet"} for s in ("train", "validation", "test")]}]

    with duckdb.connect(str(store["root"] / "curator.duckdb"), read_only=True) as conn:
        counts = {(s, sp): n for s, sp, n in conn.execute(
            "SELECT s.name, i.split, count(*) FROM dataset_items i JOIN examples e ON e.id = i.example_id "
            "JOIN sources s ON s.id = e.source_id GROUP BY ALL").fetchall()}
        kinds = dict(conn.execute("SELECT e.kind, count(*) FROM dataset_items i JOIN examples e ON e.id = i.example_id "
                                  "GROUP BY ALL").fetchall())
        total = conn.execute("SELECT count(*) FROM dataset_items").fetchone()[0]
    sources = {row[0]: row for row in _table(text, "Sources")}
    assert sources["MTS-Dialog-ValidationSet"][1:3] == ["cc-by-4.0", "en"]
    for name in ("MTS-Dialog-ValidationSet", "bitext"):
        assert [int(c) for c in sources[name][3:]] == [counts.get((name, s), 0) for s in ("train", "validation", "test")] \
            + [sum(n for (src, _), n in counts.items() if src == name)]
    assert int(sources["**all**"][-1]) == total
    made = {(r[0], r[1], r[2]): int(r[-1]) for r in _table(text, "How the examples were made")}
    assert kinds["synthetic"] == len(store["synthetic"]) == 6
    assert made == {("extracted", "note", "-"): kinds["extracted"], ("imported", "chat", "-"): kinds["imported"],
                    ("synthetic", "qa", "`qwen2.5-7b-instruct`"): kinds["synthetic"]}
    assert f"**Reviewed by people**: {10 + 3} of {total} examples" in text  # 10 reviewed + 3 accepted audits
    assert "11 accepted as drafted, 2 edited by a reviewer" in text
    assert "accept 18, edit 2, reject 0, skip 0, from 2 reviewer(s)" in text and "ana@example.org" not in text
    assert "10 pairs, same outcome 80.0%, same keep-or-reject 100.0%" in text
    assert f"**Auto-accepted** by a calibrated judge policy: 20 ({100 * 20 / total:.1f}%)" in text
    assert "its audit sample: 3 of 4 accepted by reviewers (75.0%)" in text and "20 examples here" in text
    assert "the PII policy `redact`" in text and "EMAIL_ADDRESS 6, PERSON 6" in text
    assert "2 of those hold a finding (PHONE_NUMBER 2)" in text
    assert "Result: **clean**" in text and "seed 3" in text
    assert "content hash `" in text and "curator export clinic@1 --format parquet --out DIR" in text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text) and str(store["root"]) not in text


def test_exports_load_through_the_card_and_are_byte_identical(store, tmp_path):
    import datasets

    from curator.versions import read_manifest

    with duckdb.connect(str(store["root"] / "curator.duckdb"), read_only=True) as conn:
        counts = dict(conn.execute("SELECT split, count(*) FROM dataset_items GROUP BY ALL").fetchall())
    for fmt in ("openai", "hf"):
        first, again = tmp_path / fmt / "a", tmp_path / fmt / "b"
        _export(store, fmt, first)
        _export(store, fmt, again)
        manifest = read_manifest(first)
        assert "README.md" in manifest["files"]
        for name in manifest["files"]:
            assert (first / name).read_bytes() == (again / name).read_bytes(), name
        assert (first / "manifest.json").read_bytes() == (again / "manifest.json").read_bytes()
        loaded = datasets.load_dataset(str(first), cache_dir=str(tmp_path / "hf-cache"))  # the card's configs
        assert {s: loaded[s].num_rows for s in loaded} == counts, fmt


def test_push_to_hub_sends_the_folder_with_the_real_client(store, tmp_path):
    out = tmp_path / "pushed"
    with hub_server.running() as hub:
        env = store["env"] | {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_localtest", "HF_HUB_OFFLINE": "0",
                              "HF_HOME": str(tmp_path / "hf"), "HF_HUB_DISABLE_TELEMETRY": "1"}
        proc = run_curator(["export", "clinic@1", "--format", "parquet", "--out", str(out),
                            "--push-to-hub", "acme/clinic-notes", "--json"], env)
    result = json.loads(proc.stdout)
    assert hub.repos["acme/clinic-notes"] == {"name": "clinic-notes", "organization": "acme", "visibility": "private",
                                              "type": "dataset"}
    assert all(r["authorization"] == "Bearer hf_localtest" for r in hub.requests)
    assert len(hub.commits) == 1 and hub.commits[0]["repo"] == "acme/clinic-notes"
    sent = hub.commits[0]["files"]
    assert sorted(sent) == sorted(p.name for p in out.iterdir())
    assert all(sent[name] == (out / name).read_bytes() for name in sent)
    assert hub.validated[0]["configs"][0]["data_files"][0] == {"split": "train", "path": "train.parquet"}
    assert result["hub"] == {"repo": "acme/clinic-notes", "commit": hub.commits[0]["oid"],
                             "url": f"{hub.url}/datasets/acme/clinic-notes/commit/{hub.commits[0]['oid']}"}

    env = store["env"] | {"HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "empty-hf"), "HF_TOKEN": ""}
    refused = run_curator(["export", "clinic@1", "--format", "parquet", "--out", str(tmp_path / "x"),
                           "--push-to-hub", "acme/clinic-notes"], env, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "--push-to-hub needs a Hugging Face token with write access: set HF_TOKEN" in refused.stderr
