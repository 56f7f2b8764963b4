"""Every copy traced: a byte-identical file in the same batch (a contract filed twice under two
names, from the shared contractnli NDAs) is recorded against the kept file with its own path and
shown by `curator stats` and `dedup explain`; `files_skipped` counts (and `--json` names) only
files an earlier batch already committed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import query, run_curator, run_json


def _ndas(shared_data: Path, first: int, n: int) -> str:
    docs = json.loads((shared_data / "contractnli" / "dev.json").read_text(encoding="utf-8"))["documents"]
    return json.dumps({"documents": [{"title": d["file_name"], "text": d["text"]} for d in docs[first:first + n]]})


@pytest.mark.slow
def test_byte_identical_pair_is_traced_and_earlier_files_are_named(tmp_path, cli_env, shared_data):
    inbox = tmp_path / "contracts"
    inbox.mkdir()
    (inbox / "nda-acme.json").write_text(_ndas(shared_data, 0, 3), encoding="utf-8")
    (inbox / "nda-acme-signed-copy.json").write_bytes((inbox / "nda-acme.json").read_bytes())  # filed twice
    (inbox / "nda-other.json").write_text(_ndas(shared_data, 3, 2), encoding="utf-8")

    report = run_json(["ingest", str(inbox), "--source", "legal"], cli_env)
    kept, copy = str((inbox / "nda-acme-signed-copy.json").resolve()), str((inbox / "nda-acme.json").resolve())
    # sorted walk: "nda-acme-signed-copy.json" sorts before "nda-acme.json", so it is the kept file
    assert report["files"] == 2 and report["documents_added"] == 5
    assert report["files_skipped"] == 0 and report["skipped_files"] == []
    assert report["file_copies"] == [{"path": copy, "copy_of": kept}]
    rows = query(cli_env, "SELECT c.path, f.path, c.sha256 = f.sha256, c.batch_id = f.batch_id "
                          "FROM file_copies c JOIN files f ON f.id = c.kept_file_id")
    assert rows == [(copy, kept, True, True)]

    stats = run_json(["stats"], cli_env)
    assert stats["duplicates_skipped"]["file"] == 1
    doc = query(cli_env, f"SELECT d.id FROM documents d JOIN files f ON f.id = d.file_id WHERE f.path = '{kept}' "
                         "ORDER BY d.id LIMIT 1")[0][0]
    run_curator(["dedup", "--target", "documents"], cli_env)
    explained = run_json(["dedup", "explain", f"document:{doc}"], cli_env)
    assert [(c["path"], c["kept_path"]) for c in explained["file_copies"]] == [(copy, kept)]
    shown = run_curator(["dedup", "explain", f"document:{doc}"], cli_env).stdout
    assert f"byte-identical copy of its file {kept}: {copy}" in shown.replace("\n", "")

    # A later batch: both files were committed before, so both are skipped and named.
    again = run_json(["ingest", str(inbox / "nda-acme.json"), str(inbox / "nda-other.json"), "--source", "legal"],
                     cli_env)
    assert again["files"] == 0 and again["files_skipped"] == 2 and again["file_copies"] == []
    assert again["skipped_files"] == [{"path": copy, "ingested_as": kept},
                                      {"path": str((inbox / "nda-other.json").resolve()),
                                       "ingested_as": str((inbox / "nda-other.json").resolve())}]
    assert query(cli_env, "SELECT count(*) FROM file_copies")[0][0] == 1  # a skip is not a new copy
