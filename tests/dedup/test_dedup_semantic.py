"""Semantic near-duplicates on real clinical dialogues (MTS-Dialog's validation set) with planted
back-translation-like paraphrases: a tiny model2vec model built here, loaded by model2vec's own
loader, and the local OpenAI-compatible server's /v1/embeddings through the official client.
Pairs are found and explained with their cosine, a re-run embeds nothing (cache), the PII policy
redacts before text leaves, a steward's keep applies to both methods, and either method's
duplicate leaves the version pool."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import make_env, run_curator
from openai_server import OpenAIServer
from semantic_model import build_model, write_twins

from curator.config import Settings
from curator.dedup.embed import EndpointEmbedder, embed_cached
from curator.dedup.semantic import SemanticParams, run_semantic
from curator.store import open_store
from curator.synth.embedding import embedder_from_settings

pytestmark = pytest.mark.slow  # ingest and extract through the CLI

CORPUS = "mts-dialog/Main-Dataset/MTS-Dialog-ValidationSet.csv"
PLANTED = 40  # dialogues that get a paraphrased twin


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, shared_data):
    """Store with the 100 validation dialogues and 40 paraphrased twins as note examples; the
    tiny model trained on those texts; the truth: (original id, twin id) pairs by encounter."""
    root = tmp_path_factory.mktemp("semantic")
    twins = root / "twins.csv"
    rows = write_twins(shared_data / CORPUS, twins, PLANTED)
    env = make_env(root)
    run_curator(["ingest", str(shared_data / CORPUS), str(twins)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    model = build_model([r["dialogue"] for r in rows] + [r["section_text"] for r in rows], root / "m2v")
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        got = conn.execute("SELECT e.id, d.metadata->>'ID' FROM examples e JOIN documents d ON d.id = e.document_id"
                           ).fetchall()
    by_id = {ref: i for i, ref in got}
    truth = {tuple(sorted((by_id[r["ID"]], by_id[f"{r['ID']}-bt"]))) for r in rows[:PLANTED]}
    return root, model, truth


def _env(corpus, tmp_path, **extra) -> dict:
    root, model, _ = corpus
    for p in root.glob("curator.duckdb*"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    return make_env(tmp_path, CURATOR_EMBEDDING_BACKEND="local", CURATOR_EMBEDDING_MODEL=str(model), **extra)


def _pairs(env) -> set[tuple[int, int]]:
    with duckdb.connect(env["CURATOR_DB"], read_only=True) as conn:
        return set(conn.execute("SELECT a_id, b_id FROM semantic_pairs WHERE run_id = "
                                "(SELECT max(id) FROM semantic_runs)").fetchall())


def test_local_model_finds_paraphrases_explains_and_caches(corpus, tmp_path):
    env = _env(corpus, tmp_path)
    truth = corpus[2]
    first = json.loads(run_curator(["dedup", "--target", "examples", "--method", "semantic", "--cosine", "0.7",
                                    "--json"], env).stdout)
    assert first["model"].startswith("local:model2vec:") and first["index"] == "exact"
    assert first["rows_embedded"] == first["rows_total"] == 140 and first["cache_hits"] == 0
    found = _pairs(env)
    hit = found & truth
    print(f"planted paraphrases: recall {len(hit) / len(truth):.3f}, precision {len(hit) / max(1, len(found)):.3f}"
          f" ({len(found)} pairs at cosine >= 0.7)")
    assert len(hit) >= 0.9 * len(truth)  # the rewrite keeps most content words: the bag-of-words model sees it
    # a re-run embeds nothing: every vector comes from the cache
    again = json.loads(run_curator(["dedup", "--target", "examples", "--method", "semantic", "--cosine", "0.7",
                                    "--json"], env).stdout)
    assert again["rows_embedded"] == 0 and again["cache_hits"] == 140 and _pairs(env) == found
    # explained with the method, the model and the cosine
    a, b = sorted(hit)[0]
    shown = json.loads(run_curator(["dedup", "explain", f"example:{b}", "--method", "semantic", "--json"], env).stdout)
    assert shown["method"] == "semantic" and shown["model"] == first["model"] and {a, b} <= {
        m["row_id"] for m in shown["members"]}
    assert any(p["a"] == a and p["b"] == b and p["cosine"] >= 0.7 for p in shown["pairwise"])
    text = run_curator(["dedup", "explain", f"example:{b}", "--method", "semantic"], env).stdout
    assert "semantic cluster" in text and "cosine" in text
    # a steward keeps the other member: both methods' decisions follow, and the pool drops the duplicate
    rep = shown["representative"]
    other = a if rep == b else b
    kept = json.loads(run_curator(["dedup", "keep", f"example:{other}", "--method", "semantic", "--json"], env).stdout)
    assert kept["representative"] == other and kept["why"] == "chosen by a steward"
    with duckdb.connect(env["CURATOR_DB"], read_only=True) as conn:
        flags = dict(conn.execute("SELECT example_id, semantic_duplicate FROM example_dedup WHERE example_id IN (?, ?)",
                                  [a, b]).fetchall())
        audit = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'dedup.keep'").fetchall()[0][0]
    assert flags == {other: False, rep: True} and audit == 1


def test_endpoint_backend_redacts_before_text_leaves(corpus, tmp_path):
    server = OpenAIServer().start()
    try:
        settings = Settings(_env_file=None, embedding_backend="openai", embedding_model="text-embedding-3-small",
                            openai_base_url=server.base_url, openai_api_key="sk-test", pii_policy="redact",
                            embedding_batch=16)
        embedder = embedder_from_settings(settings)
        assert isinstance(embedder, EndpointEmbedder) and embedder.key == "openai:text-embedding-3-small:pii-redact"
        env = _env(corpus, tmp_path)
        conn = open_store(env["CURATOR_DB"])
        secret = "Please call me at 212-555-0187 or write to jane.roe@example.com about the results."
        vectors, mask, stats = embed_cached(conn, embedder, [secret, "Patient reports mild headache.", secret])
        assert mask.all() and stats.distinct == 2 and stats.embedded == 2
        sent = [t for body in server.embedding_requests for t in body["input"]]
        assert not any("212-555-0187" in t or "jane.roe@example.com" in t for t in sent)
        assert any("<PHONE_NUMBER_1>" in t or "<EMAIL_ADDRESS_1>" in t for t in sent)
        assert all(body["model"] == "text-embedding-3-small" for body in server.embedding_requests)
        report = run_semantic(conn, "examples", SemanticParams(cosine=0.8), embedder, actor="test")
        requests = len(server.embedding_requests)
        assert report.rows_embedded == 140 and requests == 1 + 140 // 16 + 1
        again = run_semantic(conn, "examples", SemanticParams(cosine=0.8), embedder, actor="test")
        assert again.rows_embedded == 0 and len(server.embedding_requests) == requests  # nothing sent again
        assert again.duplicate_pairs == report.duplicate_pairs > 0
        # block: a text with PII is never sent and gets no vector
        blocked = EndpointEmbedder(server.base_url, "sk-test", "m", "block",
                                   embedder_from_settings(settings.model_copy(update={"pii_policy": "block"})).prepare)
        _, mask, stats = embed_cached(conn, blocked, [secret, "No known drug allergies."])
        assert mask.tolist() == [False, True] and stats.blocked == 1
        assert not any("212-555-0187" in t for body in server.embedding_requests for t in body["input"])
        conn.close()
    finally:
        server.stop()


def test_approximate_index_matches_exact_search():
    import numpy as np

    from curator.dedup.semantic import similar_pairs

    rng = np.random.default_rng(0)
    base = rng.standard_normal((3000, 32)).astype(np.float32)
    twins = base[:300] + 0.15 * rng.standard_normal((300, 32)).astype(np.float32)
    vectors = np.concatenate([base, twins])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact, exact_cos, used = similar_pairs(vectors, 0.95, "exact")
    approx, approx_cos, used_index = similar_pairs(vectors, 0.95, "usearch")
    assert used == "exact" and used_index == "usearch"
    found = {tuple(p) for p in approx.tolist()} & {tuple(p) for p in exact.tolist()}
    assert len(exact) >= 290 and len(found) >= 0.98 * len(exact)
    assert len(approx) == len(found)  # every index candidate is re-scored exactly: no false pair
