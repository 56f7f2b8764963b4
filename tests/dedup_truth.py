"""Ground truth for the dedup tests, computed without the code under test's fast paths: the
shared corpora read with the standard library, Python sets of the reference shingles, and an
exact all-pairs Jaccard join (prefix filtering), so "every pair at or above t" is a fact, not a
sample."""

from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter, defaultdict
from pathlib import Path

import duckdb

from curator.dedup import shingles as sh
from curator.dedup.params import DedupParams

EXAMPLE_TEXT = "array_to_string(json_extract_string(messages, '$[*].content'), chr(10))"


def shingle_set(text: str, params: DedupParams) -> frozenset[bytes]:
    return frozenset(sh.shingles(text, params))


def jaccard(a: frozenset, b: frozenset) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def pairs_at_least(sets: dict[int, frozenset], threshold: float) -> dict[tuple[int, int], float]:
    """Every pair (a < b) whose exact Jaccard is ≥ ``threshold``.

    Prefix filtering (Chaudhuri et al. 2006; Bayardo et al. 2007): order all shingles by a
    global order; if J(x, y) ≥ t then x and y share one of the first |s| − ⌈t·|s|⌉ + 1 shingles
    of each. Candidates come from those prefixes and are then checked exactly, so no pair at or
    above the threshold can be missed and none below it is returned.
    """
    freq = Counter(s for members in sets.values() for s in members)
    rank = {s: k for k, s in enumerate(sorted(freq, key=lambda s: (freq[s], s)))}
    index: dict[int, list[int]] = defaultdict(list)
    candidates: set[tuple[int, int]] = set()
    for row, members in sets.items():
        if not members:
            continue
        ordered = sorted(members, key=rank.__getitem__)
        need = math.ceil(threshold * len(members) - 1e-9)
        for s in ordered[:len(ordered) - need + 1]:
            for other in index[rank[s]]:
                candidates.add((min(row, other), max(row, other)))
            index[rank[s]].append(row)
    found = {}
    for a, b in candidates:
        j = jaccard(sets[a], sets[b])
        if j >= threshold:
            found[(a, b)] = j
    return found


def components(nodes_edges: list[tuple[int, int]]) -> list[list[int]]:
    """Connected components of an edge list, as sorted id lists ordered by their smallest id."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in nodes_edges:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for x in list(parent):
        groups[find(x)].append(x)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


# --- the shared corpora, read with the standard library -------------------------------------

def _csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def corpus_texts(data: Path, per_corpus: int = 300, seed: int = 5) -> dict[str, list[str]]:
    """A seeded sample of texts from each shared corpus, shaped as the store shapes them
    (examples: message contents joined by newlines)."""
    rng = random.Random(seed)
    nda = [d["text"] for f in ("dev.json", "test.json")
           for d in json.loads((data / "contractnli" / f).read_text(encoding="utf-8"))["documents"]]
    mts = [r["dialogue"] for r in _csv(data / "mts-dialog" / "Main-Dataset" / "MTS-Dialog-TrainingSet.csv")]
    bitext = [f"{r['instruction']}\n{r['response']}"
              for r in _csv(data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")]
    teacher = ["\n".join(x for x in (r["instruction"], r.get("input", ""), r["response"]) if x)
               for f in sorted((data / "gpteacher").rglob("*.json"))
               for r in json.loads(f.read_text(encoding="utf-8"))]
    aci = [r["dialogue"] for f in sorted((data / "aci-bench" / "challenge_data").glob("*.csv"))
           if not f.name.endswith("_metadata.csv") for r in _csv(f)]
    pick = lambda texts: rng.sample(texts, min(per_corpus, len(texts)))  # noqa: E731
    return {"contractnli": pick(nda), "mts-dialog": pick(mts), "bitext-support": pick(bitext),
            "gpteacher": pick(teacher), "aci-bench": pick(aci)}


# --- the store, read after the CLI process has exited ------------------------------------------

def query(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


def store_texts(db: Path, target: str) -> dict[int, str]:
    if target == "documents":
        return dict(query(db, "SELECT id, text FROM documents ORDER BY id"))
    return dict(query(db, f"SELECT id, {EXAMPLE_TEXT} FROM examples ORDER BY id"))


def found_pairs(db: Path, target: str, threshold: float, params_key: str | None = None) -> dict[tuple[int, int], float]:
    params_key = params_key or DedupParams().key
    rows = query(db, "SELECT a_id, b_id, jaccard FROM dedup_pairs WHERE target = ? AND params_key = ? AND jaccard >= ?",
                 [target.rstrip("s"), params_key, threshold])
    return {(a, b): j for a, b, j in rows}


def latest_decisions(db: Path, target: str) -> list[dict]:
    cols = ["row_id", "cluster_id", "decision", "duplicate_of", "jaccard", "rule"]
    rows = query(db, f"SELECT {', '.join(cols)} FROM dedup_decisions WHERE target = ? AND run_id = "
                     "(SELECT max(id) FROM dedup_runs WHERE target = ?) ORDER BY cluster_id, row_id",
                 [target.rstrip("s"), target.rstrip("s")])
    return [dict(zip(cols, r)) for r in rows]
