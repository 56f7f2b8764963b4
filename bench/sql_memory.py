"""POST /sql memory and time to first byte: the answer built whole (before) against the answer
streamed (after), side by side on the same machine.

    python bench/sql_memory.py                  # 3 fresh services per side (~1 min on 2 cores)
    python bench/sql_memory.py --runs 1 --before main

- **before**: the code of ``--before`` (a git ref; default the last commit whose POST /sql built
  the whole answer in memory), extracted with ``git archive`` into a temporary directory.
- **after**: this working tree.

Each run starts a fresh ``curator serve`` on an empty store (``CURATOR_SQL_TABLE_FUNCTIONS=range``,
``CURATOR_SQL_MAX_BYTES`` 10 MB, ``CURATOR_SQL_MAX_ROWS`` 300,000, a 120 s time limit) and sends:

1. ``SELECT repeat('a', 1000000) FROM range(200)`` (the probe's 200 MB answer, capped at 10 MB):
   the server's peak RSS is its ``VmHWM`` afterwards (the kernel's high-water mark, so nothing
   between samples is missed); the growth is that peak minus the RSS just before the query.
2. ``SELECT i, repeat('x', 20) FROM range(300000)`` (300,000 small rows, ~9 MB of JSON): the time
   to the first byte of the body and to the last.

Medians over ``--runs``. Nothing is asserted; figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import service_fixture  # noqa: E402  (the tests' way of starting `curator serve`)

BEFORE = "3c06542c29b791a75f8656a344bc83fa1b644da4"  # main before POST /sql streamed
WIDE = "SELECT repeat('a', 1000000) AS s FROM range(200)"
MANY = "SELECT i, repeat('x', 20) AS s FROM range(300000) t(i)"


def extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "curator", "annotation", "sql"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def timed(client: httpx.Client, sql: str, max_rows: int) -> dict:
    started = time.perf_counter()
    first = None
    body = bytearray()
    with client.stream("POST", "/sql", json={"sql": sql, "max_rows": max_rows}) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            first = first or time.perf_counter()
            body += chunk
    answer = json.loads(body)
    return {"ttfb_s": first - started, "total_s": time.perf_counter() - started, "mb": len(body) / 1e6,
            "rows": answer["row_count"], "truncated": answer["truncated"]}


def one_run(code: Path, root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code), "CURATOR_DB": str(root / "curator.duckdb"),
           "CURATOR_STATE_DIR": str(root / "state"), "CURATOR_SQL_TABLE_FUNCTIONS": '["range"]',
           "CURATOR_SQL_MAX_BYTES": "10000000", "CURATOR_SQL_MAX_ROWS": "300000", "CURATOR_SQL_TIMEOUT_S": "120",
           "CURATOR_REVIEW_PULL_INTERVAL": "0", "NO_COLOR": "1"}
    created = subprocess.run([sys.executable, "-m", "curator", "keys", "create", "--name", "bench", "--role",
                              "steward", "--json"], env=env, check=True, capture_output=True, text=True)
    key = json.loads(created.stdout)["key"]
    served = service_fixture.start(env)
    try:
        with served.client(key, timeout=300) as client:
            before = kib(served.proc.pid, "VmRSS")
            wide = timed(client, WIDE, 200)
            peak = kib(served.proc.pid, "VmHWM")
            many = timed(client, MANY, 300000)
    finally:
        served.stop()
    return {"rss_before_mb": before / 1024, "peak_mb": peak / 1024, "growth_mb": (peak - before) / 1024,
            "wide": wide, "many": many}


def median(runs: list[dict], *path: str) -> float:
    values = []
    for run in runs:
        value = run
        for key in path:
            value = value[key]
        values.append(value)
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default=BEFORE, help="git ref of the code to compare against")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sql-memory-") as tmp:
        sides = {"before": extract(args.before, Path(tmp) / "before"), "after": REPO}
        os.chdir(tmp)  # `python -m` puts the working directory first on the path: it must hold neither side
        results: dict[str, list[dict]] = {name: [] for name in sides}
        for i in range(args.runs):
            for name, code in sides.items():  # alternate, so load on the machine falls on both alike
                results[name].append(one_run(code, Path(tmp) / f"{name}-{i}"))
    rows = [("server peak RSS (MB)", ("peak_mb",)), ("growth during the query (MB)", ("growth_mb",)),
            ("wide: body (MB)", ("wide", "mb")), ("wide: total (s)", ("wide", "total_s")),
            ("many: first byte (s)", ("many", "ttfb_s")), ("many: total (s)", ("many", "total_s")),
            ("many: body (MB)", ("many", "mb"))]
    print(f"medians of {args.runs} run(s); before = {args.before[:12]}")
    print(f"{'':32}{'before':>10}{'after':>10}{'before/after':>14}")
    for label, path in rows:
        b, a = median(results["before"], *path), median(results["after"], *path)
        print(f"{label:32}{b:10.3f}{a:10.3f}{b / a if a else float('nan'):14.2f}")
    print(json.dumps({name: [{k: v for k, v in r.items()} for r in runs] for name, runs in results.items()}))


if __name__ == "__main__":
    main()
