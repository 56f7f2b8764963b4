"""`curator sql --format csv|json|parquet` through pandas, for stewards who read results in a
spreadsheet or a notebook: the same guarded query, the rows written as asked."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

from conftest import run_curator


@pytest.mark.slow
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


@pytest.mark.slow
def test_every_format_through_the_service_matches_local_mode(tmp_path):
    """POST /sql streams its answer; `curator sql` through the service prints what it prints
    in-process, in every format, and a byte-capped answer says so the same way in both modes."""
    from service_fixture import serving_with_keys

    query = "SELECT 1 AS n, 'a, quoted \"text\"' AS label UNION ALL SELECT 2, NULL ORDER BY n"
    wide = "SELECT repeat('a', 30000) AS s UNION ALL SELECT repeat('b', 30000) UNION ALL SELECT repeat('c', 30000)"
    cases = [["sql", query, "--format", fmt] for fmt in ("table", "csv", "json")] + [["sql", query, "--json"],
                                                                                      ["sql", wide, "--format", "csv"]]

    def outputs(env, tag: str) -> list[tuple[str, str]]:
        found = [(r.stdout, r.stderr) for r in (run_curator(args, env) for args in cases)]
        run_curator(["sql", query, "--format", "parquet", "--output", str(tmp_path / f"{tag}.parquet")], env)
        return found

    with serving_with_keys(tmp_path, roles=("steward",), CURATOR_SQL_MAX_BYTES="70000") as svc:
        served = outputs(svc.env, "served")
        assert (svc.root / "server.log").read_text().count("POST /sql") == len(cases) + 1, "through the service"
    local = outputs(svc.env, "local")
    scrub = re.compile(r'"seconds": [0-9.e-]+')
    assert [(scrub.sub("", o), e) for o, e in served] == [(scrub.sub("", o), e) for o, e in local]
    assert "CURATOR_SQL_MAX_BYTES" in served[-1][1] and len(pd.read_csv(io.StringIO(served[-1][0]))) == 2
    assert pd.read_parquet(tmp_path / "served.parquet").equals(pd.read_parquet(tmp_path / "local.parquet"))
