"""All five real corpora ingest; expected counts are computed from the files themselves with the
standard library, so nothing is hard-coded and nothing can be dropped unnoticed."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow  # every shared corpus through the real CLI: the full suite, not the fast lane


def _csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def _accounted(report: dict) -> int:
    """Every record ends up added, skipped as an exact duplicate, or rejected with a reason."""
    return report["documents_added"] + report["examples_added"] + report["duplicates_skipped"] + len(report["rejected"])


def _query(db: Path, sql: str, params=()):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_mts_dialog_transcripts_with_note_targets(shared_data, curator_json, db_path):
    files = sorted((shared_data / "mts-dialog" / "Main-Dataset").glob("*.csv"))
    report = curator_json("ingest", *map(str, files), "--source", "mts")
    rows = sum(_csv_rows(f) for f in files)
    assert report["rejected"] == []
    assert _accounted(report) == rows
    assert report["examples_added"] == 0
    kinds = dict(_query(db_path, "SELECT kind, count(*) FROM documents GROUP BY kind"))
    assert kinds == {"transcript": report["documents_added"]}
    # the note section is kept with its dialogue, for the transcript -> note recipe
    meta = _query(db_path, "SELECT metadata->>'section_header', metadata->>'section_text', turns->0->>'role' "
                           "FROM documents LIMIT 1")[0]
    assert meta[0] and meta[1] and meta[2] in ("user", "assistant")


def test_mts_dialog_crlf_and_lf_normalise_to_identical_text(shared_data, curator_json, tmp_path, db_path):
    train = shared_data / "mts-dialog" / "Main-Dataset" / "MTS-Dialog-TrainingSet.csv"
    raw = train.read_bytes()
    assert b"\r\n" in raw
    lf_copy = tmp_path / "train-lf.csv"
    lf_copy.write_bytes(raw.replace(b"\r\n", b"\n"))
    first = curator_json("ingest", str(train), "--source", "mts")
    second = curator_json("ingest", str(lf_copy), "--source", "mts")
    assert second["documents_added"] == 0
    assert second["duplicates_skipped"] == _csv_rows(train)
    assert first["documents_added"] + first["duplicates_skipped"] == _csv_rows(train)


def test_aci_bench_long_transcripts_and_metadata_tables(shared_data, curator_json, db_path):
    folder = shared_data / "aci-bench" / "challenge_data"
    report = curator_json("ingest", str(folder), "--source", "aci")
    data_files = [f for f in folder.glob("*.csv") if not f.name.endswith("_metadata.csv")]
    meta_files = [f for f in folder.glob("*_metadata.csv")]
    dialogues = sum(_csv_rows(f) for f in data_files)
    meta_rows = sum(_csv_rows(f) for f in meta_files)
    # metadata tables have no text column: each row is rejected with a reason, none silently
    assert len(report["rejected"]) == meta_rows
    assert all(r["reason"].startswith("unknown_shape") for r in report["rejected"])
    assert all("_metadata.csv:" in r["origin"] for r in report["rejected"])
    assert report["documents_added"] + report["duplicates_skipped"] == dialogues
    longest = _query(db_path, "SELECT max(n_chars) FROM documents")[0][0]
    assert longest > 10_000
    excluded = curator_json("ingest", str(folder), "--source", "aci2", "--exclude", "*_metadata.csv")
    assert excluded["rejected"] == [] and excluded["files"] == len(data_files)


def test_contractnli_exact_duplicate_nda_is_detected(shared_data, curator_json, db_path):
    files = [shared_data / "contractnli" / "dev.json", shared_data / "contractnli" / "test.json"]
    report = curator_json("ingest", *map(str, files), "--source", "contractnli")
    by_text: dict[str, list[str]] = defaultdict(list)
    total = 0
    for f in files:
        for i, doc in enumerate(json.loads(f.read_text(encoding="utf-8"))["documents"]):
            by_text[doc["text"].strip()].append(f"{f.resolve()}:documents[{i}]")
            total += 1
    expected_pairs = {(origins[0], dup) for origins in by_text.values() for dup in origins[1:]}
    assert expected_pairs, "the corpus is known to hold an exact duplicate NDA"
    assert _accounted(report) == total and report["rejected"] == []
    found = set(_query(db_path, "SELECT d.origin, x.origin FROM ingest_duplicates x "
                                "JOIN documents d ON d.id = x.kept_id WHERE x.target = 'document'"))
    assert expected_pairs <= found
    names = _query(db_path, "SELECT x.metadata->>'file_name' FROM ingest_duplicates x")
    assert all(n for (n,) in names)  # the skipped copy's own name is kept


def test_bitext_support_pairs_become_examples(shared_data, curator_json, db_path):
    path = shared_data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    report = curator_json("ingest", str(path), "--source", "bitext")
    assert report["rejected"] == [] and report["documents_added"] == 0
    assert _accounted(report) == _csv_rows(path)
    row = _query(db_path, "SELECT source_format, messages->0->>'role', messages->1->>'role', "
                          "metadata->>'intent' FROM examples LIMIT 1")[0]
    assert row == ("alpaca", "user", "assistant", row[3]) and row[3]


def test_gpteacher_alpaca_with_response_key(shared_data, curator_json, db_path):
    files = sorted((shared_data / "gpteacher").rglob("*.json"))
    report = curator_json("ingest", *map(str, files), "--source", "gpteacher")
    records = sum(len(json.loads(f.read_text(encoding="utf-8"))) for f in files)
    assert _accounted(report) == records
    assert report["documents_added"] == 0
    # a code answer keeps its indentation
    code = _query(db_path, "SELECT messages->1->>'content' FROM examples WHERE (messages->1->>'content') LIKE '%\n    %' LIMIT 1")
    assert code


def test_rerun_of_the_same_files_is_a_noop(shared_data, curator_json, db_path):
    path = shared_data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    first = curator_json("ingest", str(path))
    again = curator_json("ingest", str(path))
    assert first["files"] == 1 and again["files"] == 0 and again["files_skipped"] == 1
    assert again["examples_added"] == 0 and again["duplicates_skipped"] == 0
    stats = curator_json("stats")
    assert stats["totals"]["examples"] == first["examples_added"]
    assert stats["totals"]["files"] == 1


def test_progress_and_provenance_on_every_row(shared_data, curator_json, db_path):
    path = shared_data / "mts-dialog" / "Main-Dataset" / "MTS-Dialog-ValidationSet.csv"
    curator_json("ingest", str(path), "--source", "val")
    rows = _query(db_path, "SELECT s.name, f.path, d.origin, d.batch_id FROM documents d "
                           "JOIN sources s ON s.id = d.source_id JOIN files f ON f.id = d.file_id")
    assert rows and all(name == "val" and origin.startswith(fpath + ":") and batch for name, fpath, origin, batch in rows)
    first_line = min(int(origin.rsplit(":", 1)[1]) for _, _, origin, _ in rows)
    assert first_line == 2  # line 1 is the header
