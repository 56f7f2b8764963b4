"""Shared fixtures: a real DuckDB file per test, the real corpora from ../shared/data, and the
real ``curator`` command run as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from label_studio_fixture import label_studio  # noqa: F401  (session fixture: a real Label Studio)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))


# Tests that need Label Studio or the tiny trained model are in the slow lane. (scripts/test.sh
# runs pytest-xdist with `--dist loadfile`: a module's tests stay together on one worker, in order,
# and its module-scoped store is built once.)
SLOW_FIXTURES = ("label_studio", "tiny")


def pytest_itemcollected(item):
    """Marked as each test is collected, before `-m "not slow"` deselects."""
    if any(fixture in item.fixturenames for fixture in SLOW_FIXTURES):
        item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared corpora not found at {SHARED_DATA}; set CURATOR_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "curator.duckdb"


def copy_store(source: Path, target: Path) -> dict[str, str]:
    """A private copy of the store under ``source`` (a module's, built once) for one test, and the
    environment that uses it: tests that add rows do not disturb each other."""
    for path in source.glob("curator.duckdb*"):
        shutil.copy(path, target / path.name)
    return make_env(target)


def make_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a curator process whose store and state live under ``root``."""
    env = dict(os.environ)
    env.update({"CURATOR_DB": str(root / "curator.duckdb"), "CURATOR_STATE_DIR": str(root / "state"),
                "CURATOR_WORKERS": "2", "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "200", **extra})
    return env


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return make_env(tmp_path)


def run_curator(args: list[str], env: dict[str, str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the real CLI in a fresh process, as a user would."""
    proc = subprocess.run([sys.executable, "-m", "curator", *args], env=env, capture_output=True, text=True,
                          **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"curator {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout}")
    return proc


def query(env: dict[str, str], sql: str) -> list[tuple]:
    """Read the store of a curator process's environment, read-only, as a user's SQL client would."""
    import duckdb

    conn = duckdb.connect(env["CURATOR_DB"], read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def run_json(args: list[str], env: dict[str, str]) -> dict:
    return json.loads(run_curator([*args, "--json"], env).stdout)


@pytest.fixture
def curator(cli_env):
    """``curator(args...) -> CompletedProcess`` bound to this test's store."""
    return lambda *args, check=True: run_curator(list(args), cli_env, check=check)


@pytest.fixture
def curator_json(cli_env):
    return lambda *args: run_json(list(args), cli_env)
