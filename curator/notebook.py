"""A small Python face for notebooks: ``curator.connect().sql("SELECT ...").df()`` and the stats
as pandas DataFrames. It runs the same operations as the CLI (``dispatch.execute``), so when a
service owns the store the queries go through it (its checks, its audit, no second writer), and
otherwise run in-process on a read-only connection."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SqlResult:
    columns: list[str]
    rows: list[list]
    truncated: bool

    def df(self):
        """The rows as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


class Curator:
    """One store (``CURATOR_DB`` unless given), reached wherever its owner is."""

    def __init__(self, db: str | Path | None = None):
        from .config import get_settings

        if db is not None:  # the settings object is read once per process: point it at this store
            os.environ["CURATOR_DB"] = str(db)
            get_settings.cache_clear()
        self.db = get_settings().db

    def _run(self, name: str, params: dict) -> dict:
        from .cli.dispatch import execute

        return execute(name, params, quiet=True)

    def sql(self, query: str, max_rows: int | None = None) -> SqlResult:
        """One read-only SELECT (the checks and row cap of ``curator sql``)."""
        result = self._run("sql", {"sql": query, "max_rows": max_rows})
        return SqlResult(result["columns"], result["rows"], result["truncated"])

    def stats(self, version: str | None = None) -> dict:
        """The stats report's tables as DataFrames: funnel, counts by source/kind/status, reviewers."""
        import pandas as pd

        report = self._run("stats", {"version": version})
        counts = report.get("counts", {})
        frames = {"funnel": pd.DataFrame([report["funnel"]]) if "funnel" in report else pd.DataFrame()}
        for key in ("by_source", "by_kind", "by_status", "by_split"):
            if isinstance(counts.get(key), dict):
                frames[key] = pd.DataFrame(sorted(counts[key].items()), columns=[key[3:], "examples"])
        frames["reviewers"] = pd.DataFrame(report.get("reviews", {}).get("reviewers", []))
        return frames


def connect(db: str | Path | None = None) -> Curator:
    return Curator(db)
