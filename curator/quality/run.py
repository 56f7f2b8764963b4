"""Run the filters over the store's examples and record every decision (never a DELETE):
``quality_runs`` keeps the config, ``quality_flags`` every flag of a run, ``example_quality``
which run decided each example last. Every rule runs on every example, so the funnel counts
what each rule alone would remove."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import duckdb
import orjson
import pyarrow as pa

from ..audit import record_audit
from ..sqlfiles import query
from ..store import transaction
from .base import Flag, QualityFilter, Sample
from .bounds import scan_messages
from .config import QualityConfig

BATCH = 5_000
FLAGS = pa.schema([("run_id", pa.int64()), ("example_id", pa.int64()), ("rule", pa.string()),
                   ("reason", pa.string()), ("value", pa.string())])
SCANNED = pa.schema([("id", pa.int64()), ("findings", pa.string())])
DECIDED = pa.schema([("example_id", pa.int64()), ("run_id", pa.int64()), ("flags", pa.int32())])


@dataclass
class QualityReport:
    run_id: int
    config_hash: str
    rules: list[str]
    examples: int = 0
    flagged: int = 0
    by_rule: Counter = field(default_factory=Counter)
    samples: dict[str, list[dict]] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"run_id": self.run_id, "config_hash": self.config_hash, "rules": self.rules,
                "examples": self.examples, "flagged": self.flagged, "kept": self.examples - self.flagged,
                "by_rule": {r: self.by_rule.get(r, 0) for r in self.rules}, "samples": self.samples}


def check(sample: Sample, filters: Iterable[QualityFilter]) -> list[Flag]:
    """Every flag the rules raise on one example (all rules run: one flag per rule at most)."""
    return [f for f in (rule.check(sample) for rule in filters) if f is not None]


def _samples(conn: duckdb.DuckDBPyConnection, statuses: list[str]) -> Iterator[list[Sample]]:
    cur = conn.cursor()
    try:
        cur.execute(query("quality.examples"), {"statuses": statuses})
        while rows := cur.fetchmany(BATCH):
            yield [Sample(r[0], r[1], orjson.loads(r[2]), orjson.loads(r[3]) if r[3] else None,
                          orjson.loads(r[4]) if r[4] else {}) for r in rows]
    finally:
        cur.close()


def run_filters(conn: duckdb.DuckDBPyConnection, config: QualityConfig, actor: str,
                statuses: tuple[str, ...] = ("candidate", "in_review"),
                progress: Callable[[int, int], None] | None = None) -> QualityReport:
    """Flag the examples in ``statuses`` with the configured rules, in one transaction."""
    filters = config.filters()
    total = conn.execute(query("quality.count_examples"), {"statuses": list(statuses)}).fetchone()[0]
    with transaction(conn):
        run_id = conn.execute(query("quality.insert_run"), {"config": orjson.dumps(config.model_dump()).decode(),
                                                             "config_hash": config.hash, "actor": actor}).fetchone()[0]
        report = QualityReport(run_id, config.hash, config.active)
        for batch in _samples(conn, list(statuses)):
            if "pii" in config.active:
                _scan_unscanned(conn, batch)
            flags, decided = [], []
            for sample in batch:
                found = check(sample, filters)
                decided.append({"example_id": sample.id, "run_id": run_id, "flags": len(found)})
                for f in found:
                    flags.append({"run_id": run_id, "example_id": sample.id, "rule": f.rule, "reason": f.reason,
                                  "value": None if f.value is None else str(f.value)})
                    report.by_rule[f.rule] += 1
                    examples = report.samples.setdefault(f.rule, [])
                    if len(examples) < 3:
                        examples.append({"example_id": sample.id, "source": sample.source, "reason": f.reason})
                report.flagged += bool(found)
            report.examples += len(batch)
            _write(conn, flags, decided)
            if progress:
                progress(report.examples, total)
        conn.execute(query("quality.finish_run"), {"run_id": run_id, "examples": report.examples,
                                                   "flagged": report.flagged})
        record_audit(conn, actor, "triage.filter", f"quality-run:{run_id}",
                     {"examples": report.examples, "flagged": report.flagged, "by_rule": dict(report.by_rule)})
    return report


def _scan_unscanned(conn: duckdb.DuckDBPyConnection, batch: list[Sample]) -> None:
    """Scan the examples no scan has seen (imported, extracted) and store the findings with them,
    once, as synthesis and review do: the ``pii`` rule then judges every example."""
    rows = []
    for sample in batch:
        if sample.pii_findings is None:
            sample.pii_findings = scan_messages(sample.messages)
            rows.append({"id": sample.id, "findings": orjson.dumps(sample.pii_findings).decode()})
    if not rows:
        return
    conn.register("scanned", pa.Table.from_pylist(rows, schema=SCANNED))
    try:
        conn.execute(query("quality.store_pii_findings"))
    finally:
        conn.unregister("scanned")


def _write(conn: duckdb.DuckDBPyConnection, flags: list[dict], decided: list[dict]) -> None:
    conn.register("new_flags", pa.Table.from_pylist(flags, schema=FLAGS))
    conn.register("new_decided", pa.Table.from_pylist(decided, schema=DECIDED))
    try:
        conn.execute(query("quality.insert_flags"))
        conn.execute(query("quality.upsert_decided"))
    finally:
        conn.unregister("new_flags")
        conn.unregister("new_decided")


def flags_of(conn: duckdb.DuckDBPyConnection, example_ids: list[int]) -> dict[int, list[dict]]:
    """Current flags per example (from the run that last decided it)."""
    result: dict[int, list[dict]] = {}
    for example_id, rule, reason, value in conn.execute(query("quality.current_flags_of"),
                                                        {"ids": example_ids}).fetchall():
        result.setdefault(example_id, []).append({"rule": rule, "reason": reason, "value": value})
    return result
