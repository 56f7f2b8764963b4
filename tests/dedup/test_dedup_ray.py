"""The Ray engine gives exactly what the local engine gives, stage by stage and as clusters in the
store, on real corpora with planted near-duplicates. Ray runs on this machine (two CPUs, bound
to 127.0.0.1), started once for the module."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import ray

from curator.dedup import DedupParams, run_dedup
from curator.dedup.banding import MAX_BUCKET
from curator.dedup.engines import LocalEngine, get_engine
from curator.dedup.ray_engine import RayEngine
from curator.ingest import IngestOptions, ingest_paths
from curator.store import open_store

BITEXT_ROWS, CODEGEN_ROWS, PLANTED = 1500, 800, 40
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context"),  # Ray's own settings
              pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def ray_local():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def _records(shared_data: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """(bitext rows, codegen records, planted near-copies of long codegen records)."""
    with (shared_data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open(
            newline="", encoding="utf-8") as handle:
        bitext = [{"instruction": r["instruction"], "response": r["response"]}
                  for _, r in zip(range(BITEXT_ROWS), csv.DictReader(handle))]
    codegen = json.loads((shared_data / "gpteacher" / "Codegen" / "codegen-instruct.json").read_text())[:CODEGEN_ROWS]
    long = [r for r in codegen if len(r["response"].split()) >= 40][:PLANTED]
    planted = [{**r, "response": r["response"] + "\nThat is all."} for r in long]
    assert len(planted) == PLANTED
    return bitext, codegen, planted


def _text(record: dict) -> str:
    return "\n".join(v for v in (record["instruction"], record.get("input", ""), record["response"]) if v)


@pytest.fixture(scope="module")
def corpus(shared_data) -> tuple[pa.Array, list[tuple[int, int]]]:
    """Texts, and the (original, near-copy) positions planted among them."""
    bitext, codegen, planted = _records(shared_data)
    texts = [_text(r) for r in bitext + codegen + planted]
    first = {t: i for i, t in reversed(list(enumerate(texts)))}
    base = len(bitext) + len(codegen)
    return pa.array(texts), [(first[_text(r)[:-len("\nThat is all.")]], base + k) for k, r in enumerate(planted)]


def test_each_stage_equals_the_local_engine(corpus):
    texts, planted = corpus
    params, local, remote = DedupParams(), LocalEngine(), get_engine("ray")
    assert isinstance(remote, RayEngine)
    ids = np.arange(len(texts), dtype=np.int64) * 7 + 3  # ids are not positions

    sig, counts = local.signatures(texts, params)
    ray_sig, ray_counts = remote.signatures(texts, params)
    assert ray_sig.dtype == np.uint64 and np.array_equal(ray_sig, sig)
    assert np.array_equal(ray_counts, counts)

    pairs = local.candidate_pairs(ids, sig, params)
    ray_pairs = remote.candidate_pairs(ids, ray_sig, params)
    assert len(pairs) > len(planted) and np.array_equal(ray_pairs, pairs)

    jaccard = local.verify(pairs, ids, texts, params)
    assert np.array_equal(remote.verify(pairs, ids, texts, params), jaccard)
    duplicates = {tuple(p) for p, j in zip(pairs.tolist(), jaccard) if j >= params.threshold}
    assert {(int(ids[a]), int(ids[b])) for a, b in planted} <= duplicates


def test_oversized_bucket_is_paired_alike():
    """A template family beyond MAX_BUCKET is paired with its smallest id by both engines."""
    params = DedupParams(num_perm=16)
    rng = np.random.default_rng(7)
    sig = rng.integers(0, 2**63, size=(MAX_BUCKET + 300, params.num_perm), dtype=np.uint64)
    sig[:MAX_BUCKET + 100] = sig[0]  # one bucket in every band
    ids = rng.permutation(len(sig)).astype(np.int64) + 10  # unsorted, so sorting inside a bucket matters
    pairs = LocalEngine().candidate_pairs(ids, sig, params)
    assert len(pairs) == MAX_BUCKET + 99
    assert np.array_equal(RayEngine().candidate_pairs(ids, sig, params), pairs)


def _decisions(conn) -> list[tuple]:
    return conn.execute("SELECT row_id, cluster_id, decision, duplicate_of, round(jaccard, 9) "
                        "FROM dedup_decisions ORDER BY row_id").fetchall()


def test_run_dedup_on_ray_writes_the_same_clusters(shared_data, tmp_path):
    bitext, codegen, planted = _records(shared_data)
    data = tmp_path / "data"
    data.mkdir()
    with (data / "bitext.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["instruction", "response"])
        writer.writeheader()
        writer.writerows(bitext)
    (data / "codegen.json").write_text(json.dumps(codegen))
    (data / "planted.jsonl").write_text("".join(json.dumps(r) + "\n" for r in planted))

    results = {}
    for engine in ("local", "ray"):
        conn = open_store(tmp_path / f"{engine}.duckdb")
        ingest_paths(conn, [data], opts=IngestOptions(), actor="test")
        report = run_dedup(conn, "examples", DedupParams(), actor="test", engine=engine)
        assert report.engine == engine
        results[engine] = (_decisions(conn), report.candidate_pairs, report.duplicate_pairs, report.clusters)
        conn.close()

    decisions = results["local"][0]
    assert sum(d[2] == "duplicate" for d in decisions) >= PLANTED
    assert results["ray"] == results["local"]
