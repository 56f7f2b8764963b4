"""Base vs fine-tuned answers as a blind pairwise review for Label Studio.

Each test example becomes a task showing the prompt, the reference and two answers in a random
(seeded) order; which side is which lives only in ``pairwise_key.json``, so reviewers judge the
answers, not the labels. Import ``pairwise_tasks.json`` into a project with
``pairwise_config.xml`` as its labeling config (the annotation module can push it).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

LABEL_CONFIG = """<View>
  <Header value="Prompt"/>
  <Text name="prompt" value="$prompt"/>
  <Header value="Reference answer"/>
  <Text name="reference" value="$reference"/>
  <Header value="Which answer is better?"/>
  <Pairwise name="preference" toName="answer_a,answer_b"/>
  <Text name="answer_a" value="$answer_a"/>
  <Text name="answer_b" value="$answer_b"/>
</View>
"""


def write_pairwise(table: list[dict], run_dir: Path, seed: int) -> int:
    """Write tasks, labeling config and the key; returns the number of tasks."""
    rng = random.Random(seed)
    tasks, key = [], {}
    for row in table:
        tuned_first = rng.random() < 0.5
        a, b = (row["tuned_output"], row["base_output"]) if tuned_first else (row["base_output"], row["tuned_output"])
        tasks.append({"data": {"example": row["index"], "prompt": row["prompt"], "reference": row["reference"],
                               "answer_a": a, "answer_b": b}})
        key[str(row["index"])] = {"answer_a": "tuned" if tuned_first else "base",
                                  "answer_b": "base" if tuned_first else "tuned"}
    (run_dir / "pairwise_tasks.json").write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    (run_dir / "pairwise_key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")
    (run_dir / "pairwise_config.xml").write_text(LABEL_CONFIG, encoding="utf-8")
    return len(tasks)
