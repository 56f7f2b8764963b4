"""The notebook face: ``curator.connect(db).sql(...).df()`` and stats as DataFrames, on a real
store made by the real CLI."""

from __future__ import annotations

from pathlib import Path

import curator
from conftest import REPO, run_curator
from curator.config import get_settings


def test_connect_sql_df_and_stats(cli_env, monkeypatch):
    run_curator(["init"], cli_env)
    run_curator(["ingest", str(REPO / "examples" / "data" / "bitext-support-sample.csv")], cli_env)
    for name in ("CURATOR_STATE_DIR", "CURATOR_WORKERS"):
        monkeypatch.setenv(name, cli_env[name])
    monkeypatch.setenv("CURATOR_DB", cli_env["CURATOR_DB"])
    try:
        store = curator.connect(Path(cli_env["CURATOR_DB"]))
        frame = store.sql("SELECT kind, count(*) AS n FROM examples GROUP BY kind").df()
        assert frame.to_dict("records") == [{"kind": "imported", "n": int(frame["n"][0])}] and frame["n"][0] > 0
        stats = store.stats()
        assert int(stats["funnel"]["examples"][0]) == int(frame["n"][0])
        assert stats["by_kind"].to_dict("records") == [{"kind": "imported", "examples": int(frame["n"][0])}]
    finally:
        get_settings.cache_clear()
