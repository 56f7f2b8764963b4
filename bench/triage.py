"""Triage on the shared corpora: how much expert time the quality filters and a calibrated judge
save, and what the judge costs.

    python bench/triage.py                      # ~5-8 minutes on 2 cores
    python bench/triage.py --judge-limit 400 --minutes-per-task 3 --json

1. ingest bitext-support, MTS-Dialog (validation and training sets, as note examples) and the
   three gpteacher files; ``curator triage filter`` with every rule: candidates in, flagged per rule.
2. ``curator triage judge`` on the first ``--judge-limit`` kept candidates, against the local
   OpenAI-compatible test server (tests/openai_server.py) scoring by rule, priced as gpt-4o-mini.
3. Expert verdicts are SIMULATED (no expert reviewed these here): on ``--reviewed`` share of the
   judged examples, "accept" when the judge's score is >= 0.6, and for half of the others (by id);
   calibration must recover the threshold (0.556 for uniform scores) that gives 0.95 precision.
4. ``curator triage calibrate``, then ``auto-accept enable`` at the calibrated threshold (refused
   when the precision's lower bound there misses the target, then tried at the top of the
   threshold's interval) and ``auto-accept run`` on the judged examples nobody reviewed.
Expert-hours saved = (candidates removed by the filters + auto-accepted) x minutes-per-task / 60,
an ASSUMPTION stated with the result (default 2 minutes a task, a quick accept/reject read).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import duckdb  # noqa: E402

from conftest import SHARED_DATA, make_env, run_curator, run_json  # noqa: E402
from openai_server import OpenAIServer, rubric_judge  # noqa: E402

CORPORA = ["bitext-support/Bitext_Sample_Customer_Support_Training_Dataset.csv",
           "mts-dialog/Main-Dataset/MTS-Dialog-ValidationSet.csv", "mts-dialog/Main-Dataset/MTS-Dialog-TrainingSet.csv",
           "gpteacher/Codegen/codegen-instruct.json", "gpteacher/Roleplay/roleplay-simple-deduped-roleplay-instruct.json",
           "gpteacher/Toolformer/toolformer-dedupe-only-dataset.json"]


def plant_verdicts(db: str, share: float) -> int:
    """The simulated experts (see the module docstring); returns how many examples they decided."""
    conn = duckdb.connect(db)
    try:
        judged = conn.execute("SELECT example_id, score FROM example_judgements ORDER BY example_id").fetchall()
        reviewed = judged[:int(len(judged) * share)]
        verdicts = [(e, "accept" if s >= 0.6 or e % 2 == 0 else "reject") for e, s in reviewed]
        conn.executemany("INSERT INTO review_outcomes (example_id, verdict, source, n_reviews) VALUES (?, ?, 'single', 1)",
                         verdicts)
        conn.executemany("UPDATE examples SET status = ? WHERE id = ?",
                         [("approved" if v == "accept" else "rejected", e) for e, v in verdicts])
        return len(reviewed)
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--judge-limit", type=int, default=800)
    ap.add_argument("--reviewed", type=float, default=0.6, help="share of judged examples with (simulated) verdicts")
    ap.add_argument("--minutes-per-task", type=float, default=2.0, help="ASSUMED expert minutes per review task")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    server = OpenAIServer(respond=rubric_judge).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = make_env(Path(tmp), CURATOR_OPENAI_BASE_URL=server.base_url, CURATOR_OPENAI_API_KEY="bench",
                           CURATOR_MODEL="gpt-4o-mini", CURATOR_PII_POLICY="redact")
            started = time.perf_counter()
            run_curator(["ingest", *(str(SHARED_DATA / c) for c in CORPORA)], env)
            run_curator(["candidates", "extract", "--recipe", "note"], env)
            flt = run_json(["triage", "filter"], env)
            filter_s = time.perf_counter() - started
            t = time.perf_counter()
            judge = run_json(["triage", "judge", "--limit", str(args.judge_limit)], env)
            judge_s = time.perf_counter() - t
            reviewed = plant_verdicts(env["CURATOR_DB"], args.reviewed)
            cal = run_json(["triage", "calibrate"], env)
            overall = cal["overall"]
            auto = {"granted": False, "auto_accepted": 0, "audit_sample": 0}
            groups = [g for g in cal["groups"] if g["threshold"] is not None]
            for g in groups:  # the calibrated threshold, else the top of its interval (the cautious end)
                for threshold in dict.fromkeys([g["threshold"], g["threshold_ci"][1]]):
                    proc = run_curator(["triage", "auto-accept", "enable", "--source", g["source"], "--template",
                                        g["template"], "--threshold", str(threshold)], env, check=False)
                    auto.setdefault("decisions", []).append(
                        {"source": g["source"], "template": g["template"], "reviewed": g["reviewed"],
                         "threshold": threshold, "answer": (proc.stdout or proc.stderr).strip()})
                    if proc.returncode == 0:
                        auto["granted"] = True
                        break
            if auto["granted"]:
                for p in run_json(["triage", "auto-accept", "run"], env)["policies"]:
                    auto["auto_accepted"] += p["auto_accepted"]
                    auto["audit_sample"] += p["audit_sample"]
    finally:
        server.stop()
    removed = flt["flagged"]
    saved_tasks = removed + auto["auto_accepted"]
    result = {
        "candidates_in": flt["examples"], "removed_by_filters": removed, "kept": flt["kept"],
        "removed_by_rule": flt["by_rule"], "filter_seconds_incl_ingest": round(filter_s, 1),
        "judged": judge["judged"], "judge_blocked_pii": judge["blocked_pii"], "judge_seconds": round(judge_s, 1),
        "judge_cost_usd": judge["cost_usd"], "judge_model_priced_as": judge["model"],
        "simulated_expert_reviewed": reviewed,
        "calibration": {k: overall[k] for k in ("reviewed", "threshold", "threshold_ci", "precision",
                                                "precision_lower", "accuracy", "kappa", "alpha_correctness")},
        "auto_accept": auto,
        "minutes_per_task_assumed": args.minutes_per_task,
        "expert_tasks_saved": saved_tasks, "expert_hours_saved": round(saved_tasks * args.minutes_per_task / 60, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"candidates in: {result['candidates_in']}; removed by filters: {removed} (kept {result['kept']})")
    for rule, n in flt["by_rule"].items():
        print(f"  {rule:12s} {n}")
    print(f"judged: {judge['judged']} (blocked by PII policy {judge['blocked_pii']}), cost ${judge['cost_usd']:.4f} "
          f"priced as {judge['model']}, {judge_s:.0f} s")
    c = result["calibration"]
    print(f"calibration on {c['reviewed']} simulated expert verdicts: threshold {c['threshold']} "
          f"CI {c['threshold_ci']}, precision {c['precision']}, lower bound {c['precision_lower']}, "
          f"accuracy {c['accuracy']}, kappa {c['kappa']}")
    print(f"auto-accepted: {auto['auto_accepted']} (audit sample to humans: {auto['audit_sample']})")
    print(f"expert tasks saved: {saved_tasks} = {result['expert_hours_saved']} hours at an ASSUMED "
          f"{args.minutes_per_task} minutes per task")


if __name__ == "__main__":
    main()
