"""`curator sql --format csv|json|parquet` through pandas, for stewards who read results in a
spreadsheet or a notebook: the same guarded query, the rows written as asked."""

from __future__ import annotations

import io
import json

import pandas as pd

from conftest import run_curator


def test_sql_writes_csv_json_and_parquet(cli_env, tmp_path):
    run_curator(["init"], cli_env)
    query = "SELECT 1 AS n, 'a, quoted \"text\"' AS label UNION ALL SELECT 2, NULL ORDER BY n"
    csv = run_curator(["sql", query, "--format", "csv"], cli_env).stdout
    assert pd.read_csv(io.StringIO(csv)).fillna("").values.tolist() == [[1, 'a, quoted "text"'], [2, ""]]
    records = json.loads(run_curator(["sql", query, "--format", "json"], cli_env).stdout)
    assert records == [{"n": 1, "label": 'a, quoted "text"'}, {"n": 2, "label": None}]
    target = tmp_path / "rows.parquet"
    run_curator(["sql", query, "--format", "parquet", "--output", str(target)], cli_env)
    assert pd.read_parquet(target)["n"].tolist() == [1, 2]
    missing = run_curator(["sql", query, "--format", "parquet"], cli_env, check=False)
    assert missing.returncode == 1 and "--output" in missing.stderr
    wrong = run_curator(["sql", query, "--format", "xlsx"], cli_env, check=False)
    assert wrong.returncode == 1 and "table, csv, json, parquet" in wrong.stderr
