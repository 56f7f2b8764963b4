"""PII detection, measured: recall and precision per entity type on the labelled set of
``tests/pii_truth.py`` (identifiers written as people and speech recognition write them, planted
into the shared corpora with traps), for the detector as it was (the baseline, read from git at
``--baseline-commit``) and as it is, side by side, at both operating points, with throughput.

    python bench/pii.py                      # dev and held-out halves, ~3 minutes on 2 cores
    python bench/pii.py --split heldout --json

Operating points: ``redact`` (what leaves for a provider; scores from pii.REDACT_THRESHOLD) and
``flag`` (the review note and the ``pii`` quality rule; from pii.FLAG_THRESHOLD). Recall: a planted
value counts as found when findings of any type cover all its letters and digits. Precision: a
finding that overlaps no planted value is false, so real names already in a passage count against
both detectors alike.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import pii_truth  # noqa: E402

from curator.synth import pii  # noqa: E402

BASELINE = "29a96ca"  # main before issue 24


def baseline_module(commit: str, workdir: Path):
    """The detector's two modules as they were at ``commit``, importable as ``pii_baseline``."""
    package = workdir / "pii_baseline"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    for name in ("pii.py", "pii_rules.py"):
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:curator/synth/{name}"],
                                capture_output=True, text=True, check=True).stdout
        (package / name).write_text(source)
    sys.path.insert(0, str(workdir))
    return importlib.import_module("pii_baseline.pii")


def measure(units, scan, threshold: float, skip_recall: tuple[str, ...] = ()) -> dict:
    start = time.perf_counter()
    result = pii_truth.evaluate(units, lambda text: scan(text, threshold))
    seconds = time.perf_counter() - start
    for kind in skip_recall:
        if kind in result:
            result[kind]["recall"] = None
    return {"types": result, "chars_per_s": round(sum(len(u.text) for u in units) / seconds)}


def table(split: str, point: str, base: dict, ours: dict) -> str:
    rows = [f"\n{split} / {point}: recall and precision per type (baseline -> ours)",
            f"{'type':24} {'planted':>7} {'recall':>15} {'reported':>13} {'precision':>15}"]
    for kind in sorted(set(base["types"]) | set(ours["types"])):
        b, o = base["types"].get(kind, {}), ours["types"].get(kind, {})

        def fmt(key):
            return f"{b.get(key) if b.get(key) is not None else '-'} -> {o.get(key) if o.get(key) is not None else '-'}"
        planted = o.get("planted") or b.get("planted") or 0
        rows.append(f"{kind:24} {planted:7} {fmt('recall'):>15} "
                    f"{str(b.get('reported', 0)) + ' -> ' + str(o.get('reported', 0)):>13} {fmt('precision'):>15}")
    rows.append(f"{'characters per second':24} {'':7} {base['chars_per_s']} -> {ours['chars_per_s']}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--baseline-commit", default=BASELINE)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = baseline_module(args.baseline_commit, Path(tmp))
        splits = ("dev", "heldout") if args.split == "both" else (args.split,)
        report = {}
        for split in splits:
            units = pii_truth.labelled_set(args.data, split)
            composition = {"units": len(units), "characters": sum(len(u.text) for u in units),
                           "planted": sum(len(u.spans) for u in units),
                           "words": sum(u.form == "words" for u in units),
                           "traps": sum(u.form == "trap" for u in units)}
            report[split] = {"composition": composition}
            for point, threshold, skip in (("redact", pii.REDACT_THRESHOLD, ()),
                                           ("flag", pii.FLAG_THRESHOLD, ("AGE",))):
                report[split][point] = {"baseline": measure(units, baseline.scan, threshold),
                                        "ours": measure(units, pii.scan, threshold, skip)}
    if args.json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return
    for split, parts in report.items():
        print(f"\n== {split}: {json.dumps(parts['composition'])}")
        for point in ("redact", "flag"):
            print(table(split, point, parts[point]["baseline"], parts[point]["ours"]))
    print("\nflag point: ages under 90 are redacted but not flagged (HIPAA Safe Harbor), so AGE recall is '-'")


if __name__ == "__main__":
    main()
