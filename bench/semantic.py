"""Semantic near-duplicates: embedding throughput, search cost and recall against brute force,
and paraphrase precision/recall on a labelled set, in one run.

    python bench/semantic.py            # 10k and 100k vectors, MTS-Dialog paraphrase set
    python bench/semantic.py --quick    # 10k only

(1) Throughput of the tiny local model (a real model2vec folder built by tests/semantic_model.py)
through ``LocalEmbedder``, and of the store cache on a re-run (``embed_cached``).
(2) Search at cosine ≥ 0.9 over planted vectors (64 dims; 10 % of rows have a twin at cosine
~0.93-0.97): exact blockwise dot products (``similar_pairs(index="exact")``), usearch HNSW and
faiss HNSW (each re-scored exactly), with build+query time and recall against the exact pairs.
(3) Paraphrase detection on MTS-Dialog's training dialogues and a back-translation-like rewrite
of each (``tests/semantic_model.back_translate_like``): precision and recall of pairs at several
cosines over all 2,402 dialogues (exact search), for the tiny model. It sees shared words only;
a real model (a distilled model2vec potion model, a MiniLM sentence-transformer, or an endpoint's
text-embedding-3) also scores synonyms and true translations high, so it gains recall on real
back-translations; its scores of unrelated clinical dialogues are higher too, so its cosine
threshold must be measured again on the target data before it is trusted.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from semantic_model import back_translate_like, build_model  # noqa: E402

from curator.dedup.embed import LocalEmbedder, embed_cached  # noqa: E402
from curator.dedup.semantic import similar_pairs  # noqa: E402
from curator.store import open_store  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mts-dialog" / "Main-Dataset" / "MTS-Dialog-TrainingSet.csv"


def planted(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n - n // 10, dim)).astype(np.float32)
    twins = base[: n // 10] + 0.2 * rng.standard_normal((n // 10, dim)).astype(np.float32)
    v = np.concatenate([base, twins])
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def faiss_pairs(v: np.ndarray, threshold: float, k: int = 64) -> np.ndarray:
    import faiss

    index = faiss.IndexHNSWFlat(v.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction, index.hnsw.efSearch = 128, 128
    index.add(v)
    _, nn = index.search(v, k + 1)
    rows = np.repeat(np.arange(len(v)), nn.shape[1])
    cols = nn.ravel()
    ok = (cols >= 0) & (cols != rows)
    pairs = np.unique(np.stack([np.minimum(rows[ok], cols[ok]), np.maximum(rows[ok], cols[ok])], 1), axis=0)
    score = np.einsum("ij,ij->i", v[pairs[:, 0]], v[pairs[:, 1]])
    return pairs[score >= threshold]


def search(n: int) -> dict:
    v = planted(n)
    out = {"rows": n}
    t = time.perf_counter()
    exact, _, _ = similar_pairs(v, 0.9, "exact")
    out["exact_s"] = round(time.perf_counter() - t, 2)
    truth = {tuple(p) for p in exact.tolist()}
    out["pairs"] = len(truth)
    t = time.perf_counter()
    approx, _, _ = similar_pairs(v, 0.9, "usearch")
    out["usearch_s"] = round(time.perf_counter() - t, 2)
    out["usearch_recall"] = round(len(truth & {tuple(p) for p in approx.tolist()}) / max(1, len(truth)), 4)
    t = time.perf_counter()
    fa = faiss_pairs(v, 0.9)
    out["faiss_s"] = round(time.perf_counter() - t, 2)
    out["faiss_recall"] = round(len(truth & {tuple(p) for p in fa.tolist()}) / max(1, len(truth)), 4)
    return out


def paraphrases(model: Path) -> dict:
    with DATA.open(encoding="utf-8", newline="") as f:
        dialogues = [r["dialogue"] for r in csv.DictReader(f)]
    texts = dialogues + [back_translate_like(d) for d in dialogues]
    n = len(dialogues)
    truth = {(k, k + n) for k in range(n)}
    embedder = LocalEmbedder(model)
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_store(Path(tmp) / "bench.duckdb")
        t = time.perf_counter()
        v, _, first = embed_cached(conn, embedder, texts)
        embed_s = time.perf_counter() - t
        t = time.perf_counter()
        _, _, again = embed_cached(conn, embedder, texts)
        cached_s = time.perf_counter() - t
        conn.close()
    out = {"texts": len(texts), "embed_texts_per_s": round(len(texts) / embed_s), "embedded": first.embedded,
           "rerun_cache_hits": again.cached, "rerun_embedded": again.embedded,
           "rerun_texts_per_s": round(len(texts) / cached_s), "by_cosine": []}
    for cut in (0.6, 0.7, 0.8, 0.9):
        pairs, _, _ = similar_pairs(v, cut, "exact")
        found = {tuple(p) for p in pairs.tolist()}
        hit = len(found & truth)
        out["by_cosine"].append({"cosine": cut, "pairs": len(found), "recall": round(hit / n, 4),
                                 "precision": round(hit / max(1, len(found)), 4)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with DATA.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        model = build_model([r["dialogue"] for r in rows] + [r["section_text"] for r in rows], Path(tmp) / "m2v")
        result = {"paraphrase": paraphrases(model),
                  "search": [search(n) for n in ((10_000,) if args.quick else (10_000, 100_000))]}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
