"""A generated corrupt-input corpus: every bad record is rejected with its ``path:line`` and a
reason, every valid record lands, and each file's rows and rejects commit together."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

LIMIT = 50_000


def _chat(i: int) -> str:
    return json.dumps({"messages": [{"role": "user", "content": f"question {i}?"},
                                    {"role": "assistant", "content": f"answer {i}."}]})


def build_corpus(root: Path) -> tuple[list[tuple[str, str]], int]:
    """Write the corpus; return (expected (origin, code) rejects, valid record count)."""
    root.mkdir()
    expected: list[tuple[str, str]] = []
    valid = 0
    lines = [
        _chat(1).encode(),                                                     # 1 valid
        b'{"messages": [{"role": "user", "content": "cut"',                   # 2 malformed JSON
        '{"instruction": "caf\u00e9", "output": "ok"}'.encode("latin-1"),      # 3 invalid UTF-8
        b'{"messages": []}',                                                  # 4 empty messages
        json.dumps({"messages": [{"role": "user", "content": ""},
                                 {"role": "assistant", "content": "a"}]}).encode(),  # 5 empty content
        json.dumps({"messages": [{"role": "wizard", "content": "hi"},
                                 {"role": "assistant", "content": "a"}]}).encode(),  # 6 unknown role
        json.dumps({"messages": [{"role": "user", "content": "only a question"}]}).encode(),  # 7 no assistant
        json.dumps({"text": "x" * (LIMIT + 10)}).encode(),                    # 8 huge record
        b"{}",                                                                 # 9 empty record
        b"[1, 2, 3]",                                                          # 10 not an object
        b"",                                                                   # 11 blank line: skipped
        json.dumps({"instruction": "Say hi", "output": "hi"}).encode(),       # 12 valid alpaca
        json.dumps({"prompt": "2+2=", "completion": "4"}).encode(),           # 13 valid prompt/completion
        _chat(2).encode(),                                                     # 14 valid
        b'{"text": "the file was cut in the mid',                             # 15 truncated at EOF
    ]
    mixed = root / "mixed.jsonl"
    mixed.write_bytes(b"\n".join(lines))
    m = str(mixed.resolve())
    expected += [(f"{m}:2", "malformed_json"), (f"{m}:3", "invalid_utf8"), (f"{m}:4", "missing_messages"),
                 (f"{m}:5", "empty_content"), (f"{m}:6", "unknown_role"), (f"{m}:7", "no_assistant_message"),
                 (f"{m}:8", "too_large"), (f"{m}:9", "empty_record"), (f"{m}:10", "wrong_type"),
                 (f"{m}:15", "truncated")]
    valid += 4

    binary = root / "blob.jsonl"
    binary.write_bytes(b"\x00\x01\x02\xff" * 64)
    expected.append((f"{binary.resolve()}:1", "binary_file"))

    latin = root / "notes.txt"
    latin.write_bytes("Line one is fine.\nThe patient's caf\u00e9 visit.\n".encode("latin-1"))
    expected.append((f"{latin.resolve()}:2", "invalid_utf8"))

    table = root / "pairs.csv"
    table.write_bytes(b'instruction,response\n"Reset my password","Use the link."\n'
                      b'"bad \xff byte","x"\n"too","many","fields"\n"Cancel order","Done."\n')
    t = str(table.resolve())
    expected += [(f"{t}:3", "invalid_utf8"), (f"{t}:4", "malformed_csv")]
    valid += 2

    array = root / "cut.json"
    array.write_text('[\n  {"text": "first document"},\n  {"text": "second document"},\n  {"text": "thi', encoding="utf-8")
    expected.append((f"{array.resolve()}:4", "truncated"))
    valid += 2

    good = root / "good.md"
    good.write_text("# Policy\n\nRefunds are issued within 14 days.\n", encoding="utf-8")
    valid += 1
    return expected, valid


def test_corrupt_corpus_exact_rejects_and_every_valid_record_lands(tmp_path, curator_json, db_path):
    expected, valid = build_corpus(tmp_path / "corpus")
    report = curator_json("ingest", str(tmp_path / "corpus"), "--max-record-bytes", str(LIMIT))
    got = sorted((r["origin"], r["reason"].split(":", 1)[0]) for r in report["rejected"])
    assert got == sorted(expected)
    assert all(len(r["reason"].split(":", 1)[1].strip()) > 10 for r in report["rejected"])  # a reason, not a code
    assert report["documents_added"] + report["examples_added"] == valid
    with duckdb.connect(str(db_path), read_only=True) as conn:
        stored = sorted(conn.execute("SELECT origin, code FROM rejects").fetchall())
        per_file = conn.execute("SELECT sum(rejects), sum(documents) + sum(examples) FROM files").fetchone()
    assert stored == sorted(expected)
    assert per_file == (len(expected), valid)


def test_rejects_are_counted_by_reason_in_stats(tmp_path, curator_json):
    expected, _ = build_corpus(tmp_path / "corpus")
    curator_json("ingest", str(tmp_path / "corpus"), "--max-record-bytes", str(LIMIT))
    stats = curator_json("stats")
    assert sum(stats["rejects_by_reason"].values()) == len(expected)
    assert stats["rejects_by_reason"]["invalid_utf8"] == sum(code == "invalid_utf8" for _, code in expected)


def test_unknown_path_is_a_clear_error(curator, tmp_path):
    proc = curator("ingest", str(tmp_path / "missing"), check=False)
    assert proc.returncode == 1
    assert "no such file or directory" in proc.stderr and "Traceback" not in proc.stderr


def test_empty_files_are_rejected_not_ignored(tmp_path, curator_json):
    (tmp_path / "in").mkdir()
    empty = tmp_path / "in" / "empty.jsonl"
    empty.write_bytes(b"")
    none = tmp_path / "in" / "none.json"
    none.write_text("[]", encoding="utf-8")
    report = curator_json("ingest", str(tmp_path / "in"))
    assert sorted((r["origin"], r["reason"].split(":")[0]) for r in report["rejected"]) == [
        (f"{empty.resolve()}:1", "empty_file"), (f"{none.resolve()}:1", "empty_file")]
