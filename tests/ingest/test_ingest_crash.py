"""kill -9 in the middle of an ingest, then the same command again: the store ends exactly as
after one uninterrupted run, because each file commits in one transaction and committed files
are skipped on the re-run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

FILES = 24
LINES = 2500


def _corpus(root: Path) -> None:
    """Files with cross-file exact duplicates and a few bad lines, so all tables get rows."""
    rng = random.Random(7)
    root.mkdir()
    for f in range(FILES):
        lines = []
        for i in range(LINES):
            n = rng.randrange(FILES * LINES // 2)  # ~2x over-sampling: many repeats across files
            if i % 500 == 499:
                lines.append('{"messages": [')
                continue
            lines.append(json.dumps({"messages": [
                {"role": "user", "content": f"How do I reset the password of account {n}? " + "please " * 20},
                {"role": "assistant", "content": f"Open settings for account {n} and choose reset. " * 4}]}))
        (root / f"part-{f:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


COUNTS = {
    "documents": "SELECT count(*) FROM documents",
    "examples": "SELECT count(*) FROM examples",
    "examples_hash": "SELECT bit_xor(hash(content_hash)) FROM examples",
    "duplicates": "SELECT count(*) FROM ingest_duplicates",
    "rejects": "SELECT count(*) FROM rejects",
    "files": "SELECT count(*) FROM files",
}


def _counts(db: Path) -> dict:
    with duckdb.connect(str(db), read_only=True) as conn:
        return {k: conn.execute(sql).fetchone()[0] for k, sql in COUNTS.items()}


def test_kill_minus_nine_then_rerun_equals_uninterrupted(tmp_path, cli_env):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    cmd = [sys.executable, "-m", "curator", "ingest", str(corpus), "--source", "crash", "-v"]

    clean_env = dict(cli_env, CURATOR_DB=str(tmp_path / "clean.duckdb"))
    subprocess.run(cmd, env=clean_env, check=True, capture_output=True)
    expected = _counts(tmp_path / "clean.duckdb")
    assert expected["files"] == FILES and expected["duplicates"] > 0 and expected["rejects"] > 0

    crash_env = dict(cli_env, CURATOR_DB=str(tmp_path / "crash.duckdb"))
    proc = subprocess.Popen(cmd, env=crash_env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    committed = 0
    for line in proc.stderr:
        committed += line.startswith("committed ")
        if committed == 3:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = _counts(tmp_path / "crash.duckdb")
    assert 3 <= partial["files"] < FILES, "the kill must land mid-ingest"

    subprocess.run(cmd, env=crash_env, check=True, capture_output=True)
    assert _counts(tmp_path / "crash.duckdb") == expected
