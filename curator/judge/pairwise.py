"""A model judge for the base-vs-tuned comparison: ``curator training judge RUN``.

ROUGE-L, exact match and token F1 say little about summaries and notes, so a model compares the
two answers to each test prompt, pairwise. Judges prefer whichever answer comes first (or second)
often enough to swamp a real difference, so every pair is asked in both orders (fine-tuned as A,
then as B): the tuned answer wins only when it wins in both orders, loses only when it loses in
both, and every split or tie verdict is a tie. The win, tie and loss rates come with 95% Wilson
intervals, beside the automatic metrics in ``eval_results``.

Why a curator operation after the run, not a step inside ``python -m trainer run``: the judge
goes through the same client, cache, cost accounting, budget and PII policy as synthesis
(``curator.synth``), all of which keep their state in the store, and the trainer process must
never import the store; the run's eval table is already in ``eval_examples`` once it finishes.
"""

from __future__ import annotations

import math
from typing import Literal

import duckdb
from pydantic import BaseModel

from ..config import Settings
from ..errors import InputError
from ..sqlfiles import query
from ..store import rows, transaction
from ..synth.client import ChatRequest, generate
from ..synth.pii import apply_policy, require_name_detector

SYSTEM = ("You judge two answers to the same request against a reference answer. Reply with JSON only: "
          '{"winner": "A"} when answer A is better, {"winner": "B"} when answer B is better, '
          '{"winner": "tie"} when neither is.')
METRICS = ("judge_win_rate", "judge_tie_rate", "judge_loss_rate")


class Verdict(BaseModel):
    winner: Literal["A", "B", "tie"]


def render(prompt: str, reference: str, first: str, second: str) -> str:
    """The judge's user message (the markers are what the local test server reads back)."""
    return (f"### Request\n{prompt}\n### Reference\n{reference}\n### Answer A\n{first}\n### Answer B\n{second}\n"
            "### End")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (sound at 0 and n, unlike the normal one)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def outcome(tuned_first: str | None, tuned_second: str | None) -> str:
    """One example's result from the two orders: 'win', 'loss' or 'tie' (for the tuned model).
    ``tuned_first``: the verdict with the tuned answer as A; ``tuned_second``: as B."""
    as_a = {"A": "win", "B": "loss"}.get(tuned_first or "", "tie")
    as_b = {"B": "win", "A": "loss"}.get(tuned_second or "", "tie")
    return as_a if as_a == as_b else "tie"


def judge_run(conn: duckdb.DuckDBPyConnection, run_id: int, settings: Settings,
              max_cost_usd: float | None = None) -> dict:
    """Judge every test example of a finished run in both orders; store the rates in eval_results."""
    examples = rows(conn, "training.examples_for_run", {"run_id": run_id})
    if not examples:
        raise InputError(f"training run {run_id} has no evaluated test examples (is it finished? `curator training "
                         "show`)")
    require_name_detector(settings.pii_policy)  # fail closed before anything is sent
    requests, blocked = [], []
    for e in examples:
        orders = {"tuned_first": (e["tuned_output"], e["base_output"]),
                  "tuned_second": (e["base_output"], e["tuned_output"])}
        for order, (first, second) in orders.items():
            checked = apply_policy(render(e["prompt"], e["reference"], first, second), settings.pii_policy)
            if checked.text_to_send is None:
                blocked.append({"idx": e["idx"], "reason": checked.blocked_reason})
                break
            requests.append(ChatRequest(f"{e['idx']}:{order}",
                                        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": checked.text_to_send}]))
    report = generate(conn, requests, settings.model_copy(update={"temperature": 0.0}), schema=Verdict,
                      response_format="json_object", max_cost_usd=max_cost_usd)
    verdicts = {r.key: r.value.winner for r in report.results if r.ok}
    blocked_ids = {b["idx"] for b in blocked}
    judged = [e["idx"] for e in examples if e["idx"] not in blocked_ids
              and f"{e['idx']}:tuned_first" in verdicts and f"{e['idx']}:tuned_second" in verdicts]
    results = [outcome(verdicts[f"{i}:tuned_first"], verdicts[f"{i}:tuned_second"]) for i in judged]
    consistent = sum(1 for i in judged if outcome(verdicts[f"{i}:tuned_first"], verdicts[f"{i}:tuned_second"]) != "tie"
                     or verdicts[f"{i}:tuned_first"] == verdicts[f"{i}:tuned_second"] == "tie")
    n = len(results)
    counts = {k: results.count(k) for k in ("win", "tie", "loss")}
    rates = {f"judge_{k}_rate": (counts[k] / n if n else None) for k in ("win", "tie", "loss")}
    intervals = {f"judge_{k}_rate": wilson(counts[k], n) for k in ("win", "tie", "loss")}
    with transaction(conn):
        conn.execute(query("training.delete_judge"), {"run_id": run_id})
        for metric, value in rates.items():
            low, high = intervals[metric]
            for name, v in ((metric, value), (f"{metric}_ci_low", low), (f"{metric}_ci_high", high)):
                conn.execute(query("training.insert_eval"), {"run_id": run_id, "model": "tuned", "split": "test",
                                                             "metric": name, "value": v, "n": n})
    return {"run_id": run_id, "judge_model": settings.model, "n": n, "examples": len(examples), **counts, **rates,
            "intervals": {k: list(v) for k, v in intervals.items()}, "position_consistent": consistent,
            "blocked": blocked, "failures": report.failures, "generation_run_id": report.run_id,
            "requests": report.requests, "cache_hits": report.cache_hits, "cost_usd": report.cost_usd,
            "budget_status": report.status, "pii_policy": settings.pii_policy}
