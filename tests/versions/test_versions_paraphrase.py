"""Paraphrase pairs and the version gate, on MTS-Dialog's training set with a back-translation-like
twin of every dialogue (same note): the short notes share no 13-grams, so before the paraphrase
relation a cut put many twins in different splits and approval passed them. Now the splitter keeps
each pair in one split (measured with and without an embedding model), "None."-like answers over
unrelated dialogues do not chain the corpus, the version records the relation and the model, and
the gate refuses a hand-made straddling pair."""

from __future__ import annotations


import duckdb
import numpy as np
import pytest
from conftest import make_env, run_curator
from semantic_model import build_model, write_twins

from curator.config import get_settings
from curator.store import open_store
from curator.versions import approve_version, create_version
from curator.versions.leakage import check_leakage, describe
from curator.versions.overlap import OverlapParams

pytestmark = pytest.mark.slow  # 2,402 examples through the CLI

CORPUS = "mts-dialog/Main-Dataset/MTS-Dialog-TrainingSet.csv"


@pytest.fixture(scope="module")
def store(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("paraphrase")
    twins = root / "twins.csv"
    rows = write_twins(shared_data / CORPUS, twins)
    env = make_env(root)
    run_curator(["ingest", str(shared_data / CORPUS), str(twins)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    run_curator(["dedup", "--target", "examples"], env)
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute("UPDATE examples SET status = 'approved'")
        got = conn.execute("SELECT e.id, d.metadata->>'ID' FROM examples e JOIN documents d ON d.id = e.document_id"
                           ).fetchall()
    by_ref = {ref: i for i, ref in got}
    truth = [(by_ref[r["ID"]], by_ref[f"{r['ID']}-bt"]) for r in rows
             if r["ID"] in by_ref and f"{r['ID']}-bt" in by_ref]
    model = build_model([r["dialogue"] for r in rows] + [r["section_text"] for r in rows], root / "m2v")
    return root, truth, model


def _conn(store, tmp_path):
    for p in store[0].glob("curator.duckdb*"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    return open_store(tmp_path / "curator.duckdb")


def _straddling(conn, ref: str, truth) -> int:
    split = dict(conn.execute("SELECT example_id, split FROM dataset_items i JOIN dataset_versions v "
                              "ON v.id = i.version_id WHERE v.name || '@' || v.number = ?", [ref]).fetchall())
    return sum(1 for a, b in truth if a in split and b in split and split[a] != split[b])


def _settings(monkeypatch, **env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()


def test_twins_stay_together_with_and_without_embeddings(store, tmp_path, monkeypatch):
    truth = store[1]
    conn = _conn(store, tmp_path)
    _settings(monkeypatch, CURATOR_EMBEDDING_BACKEND="none")
    before = create_version(conn, "old-rule", "test", seed=3,
                            overlap=OverlapParams(paraphrase=False, embedding=None))  # the relation as it was
    lexical = create_version(conn, "lexical", "test", seed=3)
    _settings(monkeypatch, CURATOR_EMBEDDING_BACKEND="local", CURATOR_EMBEDDING_MODEL=str(store[2]))
    embedded = create_version(conn, "embedded", "test", seed=3)
    counts = {v["ref"]: _straddling(conn, v["ref"], truth) for v in (before, lexical, embedded)}
    report = embedded["grouping"]["report"]
    for v in (before, lexical, embedded):
        r = v["grouping"]["report"]
        print(f"{v['ref']}: {counts[v['ref']]} of {len(truth)} twin pairs straddle splits; largest group "
              f"{r['largest'][0]['examples']} ({r['largest'][0]['share']:.1%}); {r.get('paraphrase_links')} "
              f"paraphrase links, {r.get('semantic_pairs')} semantic pairs; max gap {r['max_gap_points']} points")
    assert counts["old-rule@1"] > 50  # the bug: short notes never linked
    assert counts["lexical@1"] <= 0.01 * len(truth) and counts["embedded@1"] <= counts["lexical@1"]
    # label-like answers ("None.") over unrelated dialogues do not chain the corpus together; the tiny
    # bag-of-words model links more unrelated dialogues than a real model would (see bench/semantic.py)
    assert lexical["grouping"]["report"]["largest"][0]["share"] < 0.02 and report["largest"][0]["share"] < 0.05
    overlap = embedded["grouping"]["overlap"]
    assert overlap["semantic"]["model"].startswith("local:model2vec:") and overlap["semantic"]["cosine"] == 0.9
    assert "semantic" not in lexical["grouping"]["overlap"] and "paraphrase" in lexical["grouping"]["overlap"]
    approved = approve_version(conn, embedded["ref"], "steward")  # passes its own gate, embeddings read back
    assert approved["status"] == "approved"
    get_settings.cache_clear()
    conn.close()


def test_gate_refuses_a_hand_made_straddling_pair(store, tmp_path, monkeypatch):
    _settings(monkeypatch, CURATOR_EMBEDDING_BACKEND="local", CURATOR_EMBEDDING_MODEL=str(store[2]))
    conn = _conn(store, tmp_path)
    import orjson

    version = {"ref": "hand@1", "content_hash": "x", "dedup_params": None,
               "grouping": {"overlap": OverlapParams().as_dict()}}
    old_rule = version | {"grouping": {"overlap": OverlapParams(paraphrase=False, embedding=None).as_dict()}}
    originals = [a for a, _ in store[1][300:400]]  # a version's worth of context: word weights come from the items
    others = [{"example_id": i, "split": "train", "messages": orjson.loads(m)} for i, m in conn.execute(
        "SELECT id, messages FROM examples WHERE id IN (SELECT unnest(?::BIGINT[]))", [originals]).fetchall()]
    for a, b in store[1][:200]:  # the first twin pair the old relations cannot see
        messages = {i: orjson.loads(m) for i, m in conn.execute(
            "SELECT id, messages FROM examples WHERE id IN (?, ?)", [a, b]).fetchall()}
        items = others + [{"example_id": a, "split": "train", "messages": messages[a]},
                          {"example_id": b, "split": "test", "messages": messages[b]}]
        if check_leakage(conn, old_rule, items)["clean"]:  # versions cut before the relation: checked as they were
            break
    else:
        raise AssertionError("every twin pair shares n-grams")
    report = check_leakage(conn, version, items)
    assert not report["clean"] and [(p["a"], p["b"]) for p in report["paraphrase_pairs"]] == [(a, b)] * len(
        report["paraphrase_pairs"]) and report["n_paraphrase_pairs"] >= 1
    assert report["n_near_duplicate_pairs"] == 0 and report["n_ngram_pairs"] == 0
    assert "same response, paraphrased input" in describe(report)
    get_settings.cache_clear()
    conn.close()
