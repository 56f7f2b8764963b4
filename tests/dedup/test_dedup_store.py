"""Dedup through the real CLI on the shared corpora and a real DuckDB file: known duplicates
found and explained, stored signatures readable by datasketch, the representative rule and a
steward's override, incremental runs, separate signature sets per parameters, the leakage
check, and decisions that never delete."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import make_env, run_curator
from datasketch import MinHash, MinHashLSH
from dedup_truth import (found_pairs, jaccard, latest_decisions, pairs_at_least, query, shingle_set,
                         store_texts)

from curator.dedup import shingles as sh
from curator.dedup.leakage import cross_pairs
from curator.dedup.params import DedupParams
from curator.store import open_store

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

PARAMS = DedupParams()
KEY = PARAMS.key


class Store:
    """A store under ``root``, driven by the real CLI in fresh processes."""

    def __init__(self, root: Path):
        self.root = root
        self.db = root / "curator.duckdb"
        self.env = make_env(root)

    def cli(self, *args: str) -> str:
        return run_curator(list(args), self.env).stdout

    def json(self, *args: str):
        return json.loads(self.cli(*args, "--json"))

    def copy(self, root: Path) -> "Store":
        """An independent copy (no process holds the file between CLI calls)."""
        root.mkdir(parents=True, exist_ok=True)
        for suffix in ("", ".wal"):
            src = Path(f"{self.db}{suffix}")
            if src.exists():
                shutil.copy(src, f"{root / 'curator.duckdb'}{suffix}")
        return Store(root)

    def count(self, table: str) -> int:
        return query(self.db, f"SELECT count(*) FROM {table}")[0][0]


def _sets(store: Store, target: str, params: DedupParams = PARAMS) -> dict[int, frozenset]:
    return {i: shingle_set(t, params) for i, t in store_texts(store.db, target).items()}


@pytest.fixture(scope="module")
def nda(shared_data, tmp_path_factory) -> Store:
    """contractnli dev + test as documents, deduplicated once."""
    store = Store(tmp_path_factory.mktemp("nda"))
    files = [shared_data / "contractnli" / n for n in ("dev.json", "test.json")]
    store.ingest = store.json("ingest", *map(str, files), "--source", "contractnli")
    store.report = store.json("dedup", "--target", "documents")
    store.truth = pairs_at_least(_sets(store, "documents"), 0.8)
    return store


@pytest.fixture(scope="module")
def bitext(shared_data, tmp_path_factory) -> Store:
    """bitext-support request/response pairs as examples, deduplicated once."""
    store = Store(tmp_path_factory.mktemp("bitext"))
    path = shared_data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    store.ingest = store.json("ingest", str(path), "--source", "bitext")
    store.report = store.json("dedup", "--target", "examples")
    store.sets = _sets(store, "examples")
    store.truth = pairs_at_least(store.sets, 0.8)
    return store


# --- 3. known duplicates of the shared corpora -------------------------------------------------

def test_contractnli_near_duplicate_ndas_found_exactly(nda):
    # the exact duplicate (CBP form / dhs-nda.txt) never reached dedup: ingest skipped it
    assert nda.ingest["duplicates_skipped"] == 1
    found = found_pairs(nda.db, "documents", 0.8)
    print(f"\ncontractnli: pairs at J ≥ 0.8 found {sorted(found.items())}, truth {sorted(nda.truth.items())}")
    assert found.keys() == nda.truth.keys()
    assert all(found[p] == pytest.approx(nda.truth[p], abs=1e-12) for p in found)
    # the same SEC exhibit filed twice (0.99+), and the two RfP NDAs from one issuer (0.92)
    assert sum(j >= 0.985 for j in found.values()) == 2
    assert any(0.9 <= j < 0.95 for j in found.values())
    origins = dict(query(nda.db, "SELECT id, origin FROM documents"))
    assert all(origins[a] != origins[b] for a, b in found)
    assert nda.report["clusters"] == len(found) and nda.report["rows_marked_duplicate"] == len(found)


def test_stored_signatures_load_into_datasketch_lsh(nda):
    rows = query(nda.db, "SELECT row_id, hashvalues, num_perm, seed, ngram, shingle FROM signatures "
                         "WHERE target = 'document' AND params_key = ?", [KEY])
    assert len(rows) == nda.ingest["documents_added"]
    assert {r[2:] for r in rows} == {(128, 1, 5, "word")}
    texts = store_texts(nda.db, "documents")
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    leans = {}
    for row_id, blob, *_ in rows:
        values = np.frombuffer(blob, dtype="<u8")
        leans[row_id] = sh.to_lean(values, PARAMS)
        lsh.insert(row_id, leans[row_id])
    pair_members = {i for p in nda.truth for i in p}
    for row_id in sorted(pair_members) + sorted(leans)[:15]:  # stored == datasketch from the stored text
        m = MinHash(num_perm=128, seed=1, hashfunc=sh.hashfunc(PARAMS), scheme="affine64")
        m.update_batch(sh.shingles(texts[row_id], PARAMS))
        assert np.array_equal(leans[row_id].hashvalues, m.hashvalues), row_id
    for a, b in nda.truth:
        assert b in lsh.query(leans[a]) and a in lsh.query(leans[b])


def test_explain_a_contractnli_pair(nda):
    (a, b), j = max(nda.truth.items(), key=lambda kv: kv[1])
    text = nda.cli("dedup", "explain", f"document:{a}")
    data = nda.json("dedup", "explain", f"document:{a}")
    rep = data["representative"]
    other = a if rep == b else b
    n_chars = dict(query(nda.db, "SELECT id, n_chars FROM documents WHERE id IN (?, ?)", [a, b]))
    assert rep == max((a, b), key=lambda r: (n_chars[r], -r)) and data["why"] == "longest text"
    assert [m["row_id"] for m in data["members"]] == [rep, other]
    assert data["pairwise"] == [{"a": a, "b": b, "jaccard": round(j, 4)}]
    dup = data["members"][1]
    assert dup["decision"] == "duplicate" and dup["duplicate_of"] == rep and dup["jaccard"] == pytest.approx(j)
    sets = _sets(nda, "documents")
    shared = dup["shared_shingles"]
    assert len(shared) == 3 and all(s.encode() in sets[a] & sets[b] for s in shared)
    assert all("/contractnli/" in m["origin"] and ".json:documents[" in m["origin"] for m in data["members"])
    # the text form says the same
    for needle in (f"cluster {min(a, b)}", f"representative {rep} (longest text)", "pairwise", f"{j:.3f}", shared[0]):
        assert needle in text, needle
    lonely = next(i for i in store_texts(nda.db, "documents") if i not in {x for p in nda.truth for x in p})
    assert "not a near-duplicate" in nda.cli("dedup", "explain", f"document:{lonely}")


def test_bitext_examples_and_requests(bitext, shared_data, tmp_path):
    """Request+response texts: found == exact truth. Template variants such as "I expect a refund
    of $1499" / "i expect a refund of $1499" have different responses, so as examples they are
    not near-duplicates; their requests alone are, and dedup finds all of those."""
    found = found_pairs(bitext.db, "examples", 0.8)
    assert found.keys() == bitext.truth.keys() and found
    texts = store_texts(bitext.db, "examples")
    refund = sorted(i for i, t in texts.items() if t.split("\n", 1)[0].lower() == "i expect a refund of $1499")
    assert len(refund) == 2
    assert jaccard(bitext.sets[refund[0]], bitext.sets[refund[1]]) < 0.5

    (a, b), j = next(iter(found.items()))
    data = bitext.json("dedup", "explain", f"example:{b}")
    assert {m["row_id"] for m in data["members"]} == {a, b} and data["pairwise"][0]["jaccard"] == round(j, 4)
    assert data["why"] in ("longest text", "earliest row among the longest") and data["members"][1]["shared_shingles"]

    requests = Store(tmp_path)  # the requests alone, as documents (JSONL written from the CSV)
    import csv

    with (shared_data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv").open(
            newline="", encoding="utf-8") as handle:
        lines = [json.dumps({"text": row["instruction"]}) for row in csv.DictReader(handle)]
    (tmp_path / "requests.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    requests.json("ingest", str(tmp_path / "requests.jsonl"), "--source", "bitext-requests")
    report = requests.json("dedup", "--target", "documents")
    truth = pairs_at_least(_sets(requests, "documents"), 0.8)
    got = found_pairs(requests.db, "documents", 0.8)
    print(f"\nbitext: {len(found)} example pair(s) at J ≥ 0.8; requests alone: {len(got)} pairs "
          f"(truth {len(truth)}), {report['clusters']} clusters")
    assert got.keys() == truth.keys() and len(got) > 50
    requests_text = store_texts(requests.db, "documents")
    variants = sorted(i for i, t in requests_text.items() if t.lower() == "i expect a refund of $1499")
    assert len(variants) == 2 and tuple(variants) in got and got[tuple(variants)] == 1.0
    explained = requests.json("dedup", "explain", f"document:{variants[1]}")
    assert set(variants) <= {m["row_id"] for m in explained["members"]}


# --- 4. representative rule and the steward's override ----------------------------------------

def _messages(db: Path, row_id: int) -> list[dict]:
    return json.loads(query(db, "SELECT messages FROM examples WHERE id = ?", [row_id])[0][0])


def test_representative_rule_and_steward_override(bitext, tmp_path):
    store = bitext.copy(tmp_path / "rules")
    (short, long_), = [p for p in bitext.truth]  # the one real near-duplicate pair of examples
    n_chars = lambda: {i: len(t) for i, t in store_texts(store.db, "examples").items()}  # noqa: E731
    before = n_chars()
    if before[short] > before[long_]:
        short, long_ = long_, short
    assert before[short] < before[long_]
    # two more clusters from real rows: X with a same-length variant (tie: earliest wins), and
    # Y with a longer variant added later (longest wins)
    longest = sorted(before, key=lambda i: (-before[i], i))
    x, y = [i for i in longest if i not in (short, long_)][:2]
    tie, longer = _messages(store.db, x), _messages(store.db, y)
    words = tie[1]["content"].split(" ")
    k = next(k for k, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.islower() and w[::-1] != w)
    tie[1]["content"] = " ".join(words[:k] + [words[k][::-1]] + words[k + 1:])
    longer[1]["content"] += " Thank you for contacting us."
    (tmp_path / "variants.jsonl").write_text("".join(json.dumps({"messages": m}) + "\n" for m in (tie, longer)),
                                             encoding="utf-8")
    assert store.json("ingest", str(tmp_path / "variants.jsonl"), "--source", "variants")["examples_added"] == 2
    x2, y2 = sorted(r[0] for r in query(store.db, "SELECT id FROM examples ORDER BY id DESC LIMIT 2"))
    after = n_chars()
    assert after[x2] == after[x] and after[y2] > after[y]

    with duckdb.connect(str(store.db)) as conn:  # no other process holds the file now
        conn.execute("UPDATE examples SET status = 'approved' WHERE id = ?", [short])
    count = store.count("examples")
    report = store.json("dedup", "--target", "examples")
    assert report["rows_hashed"] == 2 and report["clusters"] == 3
    kept = {d["cluster_id"]: d for d in latest_decisions(store.db, "examples") if d["decision"] == "kept"}
    assert kept[min(short, long_)]["row_id"] == short and kept[min(short, long_)]["rule"] == "approved example"
    assert kept[x]["row_id"] == x and kept[x]["rule"] == "earliest row among the longest"
    assert kept[y]["row_id"] == y2 and kept[y]["rule"] == "longest text"

    last_audit = query(store.db, "SELECT max(id) FROM audit_log")[0][0]
    data = store.json("dedup", "keep", f"example:{long_}")
    assert data["representative"] == long_ and data["why"] == "chosen by a steward"
    cluster = {d["row_id"]: d for d in latest_decisions(store.db, "examples") if d["cluster_id"] == min(short, long_)}
    assert cluster[long_]["decision"] == "kept" and cluster[long_]["duplicate_of"] is None
    assert cluster[short]["decision"] == "duplicate" and cluster[short]["duplicate_of"] == long_
    assert cluster[short]["jaccard"] == pytest.approx(bitext.truth[(min(short, long_), max(short, long_))])
    assert {d["rule"] for d in cluster.values()} == {"chosen by a steward"}
    audit = query(store.db, "SELECT actor, action, target, details FROM audit_log WHERE id > ? ORDER BY id",
                  [last_audit])
    assert [(a[1], a[2]) for a in audit] == [("dedup.keep", f"example:{long_}")]
    assert audit[0][0].startswith("cli:") and json.loads(audit[0][3])["cluster"] == min(short, long_)
    assert query(store.db, "SELECT target, row_id FROM dedup_overrides") == [("example", long_)]

    again = store.json("dedup", "--target", "examples")  # a later run keeps the steward's choice
    assert again["rows_hashed"] == 0 and again["verified_pairs"] == 0
    assert again["cached_pairs"] + again["skipped_pairs"] == again["candidate_pairs"]
    cluster = {d["row_id"]: d for d in latest_decisions(store.db, "examples") if d["cluster_id"] == min(short, long_)}
    assert cluster[long_]["decision"] == "kept" and cluster[long_]["rule"] == "chosen by a steward"
    assert cluster[short]["duplicate_of"] == long_
    # 8. decisions never delete, nor change the rows
    assert store.count("examples") == count
    assert query(store.db, "SELECT status FROM examples WHERE id = ?", [short]) == [("approved",)]


# --- 5. incremental runs, and 7. the leakage check on the grown store ---------------------------

def _near_copy(rng: random.Random, messages: list[dict], edits: int) -> list[dict]:
    words = messages[1]["content"].split(" ")
    for k in rng.sample(range(len(words)), edits):
        words[k] = f"edited{k}"
    return [messages[0], {**messages[1], "content": " ".join(words)}]


@pytest.fixture(scope="module")
def grown(bitext, shared_data, tmp_path_factory):
    """The bitext store plus 1 % new rows: near-copies of old rows (1–14 words changed) and
    fresh rows from gpteacher, ingested and deduplicated again."""
    root = tmp_path_factory.mktemp("grown")
    store = bitext.copy(root / "store")
    rng = random.Random(11)
    old = query(store.db, "SELECT id FROM examples WHERE length(messages->>'$[1].content') > 900 ORDER BY id")
    sources = rng.sample([r[0] for r in old], 30)
    # two in three lightly edited (about J 0.85-0.97), one in three heavily (below 0.8)
    new_rows = [{"messages": _near_copy(rng, _messages(store.db, s), rng.randint(1, 3) if k % 3 else rng.randint(8, 14))}
                for k, s in enumerate(sources)]
    teacher = json.loads((shared_data / "gpteacher" / "Codegen" / "codegen-instruct.json").read_text(encoding="utf-8"))
    n_new = round(bitext.ingest["examples_added"] / 100)
    new_rows += [{"instruction": r["instruction"], "input": r["input"], "output": r["response"]}
                 for r in rng.sample(teacher, n_new - len(new_rows))]
    (root / "new.jsonl").write_text("".join(json.dumps(r) + "\n" for r in new_rows), encoding="utf-8")
    sig_before = query(store.db, "SELECT count(*) FROM signatures WHERE params_key = ?", [KEY])[0][0]
    added = store.json("ingest", str(root / "new.jsonl"), "--source", "new")
    assert added["examples_added"] == n_new and not added["rejected"]
    store.report = store.json("dedup", "--target", "examples")
    store.sig_before = sig_before
    store.sig_after = query(store.db, "SELECT count(*) FROM signatures WHERE params_key = ?", [KEY])[0][0]
    store.new_ids = [r[0] for r in query(store.db, "SELECT id FROM examples WHERE source_id = "
                                                   "(SELECT id FROM sources WHERE name = 'new') ORDER BY id")]
    store.sources = dict(zip(store.new_ids[:30], sources))  # new near-copy -> its old row
    store.sets = _sets(store, "examples")
    store.n_new = n_new
    return store


def test_incremental_run_hashes_only_new_rows(grown, bitext):
    report = grown.report
    assert report["rows_hashed"] == grown.n_new == 45
    assert grown.sig_after - grown.sig_before == grown.n_new
    assert report["rows_total"] == bitext.report["rows_total"] + grown.n_new
    assert report["cached_pairs"] >= bitext.report["verified_pairs"] > 0
    assert report["verified_pairs"] == report["candidate_pairs"] - report["cached_pairs"] - report["skipped_pairs"]
    # new near-duplicates are found against the old rows, and nothing else is missed or invented
    truth = pairs_at_least(grown.sets, 0.8)
    found = found_pairs(grown.db, "examples", 0.8)
    assert found.keys() == truth.keys()
    planted = {(old, new): jaccard(grown.sets[old], grown.sets[new]) for new, old in grown.sources.items()}
    above = {p for p, j in planted.items() if j >= 0.8}
    assert len(above) >= 15 and above <= found.keys()
    assert any(j < 0.8 for j in planted.values())  # the heavier edits fall below, and are not reported
    assert grown.count("examples") == bitext.ingest["examples_added"] + grown.n_new  # 8. nothing deleted


@pytest.mark.parametrize("threshold", [0.8, 0.5])
def test_leakage_cross_pairs_exactly(grown, threshold):
    """Left and right sets straddle some near-duplicate pairs and hold others on one side."""
    rng = random.Random(3)
    pairs = list(grown.sources.items())  # (new, old)
    others = [i for i in grown.sets if i not in grown.sources and i not in grown.sources.values()]
    filler = rng.sample(others, 200)
    left = [old for _, old in pairs[:20]] + filler[:100]
    right = [new for new, _ in pairs] + [old for _, old in pairs[20:]] + filler[100:]
    assert not set(left) & set(right)
    truth = {(a, b): j for a in left for b in right if (j := jaccard(grown.sets[a], grown.sets[b])) >= threshold}
    same_side = {(old, new) for new, old in pairs[20:] if jaccard(grown.sets[old], grown.sets[new]) >= threshold}
    assert truth and same_side  # both kinds exist, so the test can tell them apart
    conn = open_store(grown.db)
    try:
        got = cross_pairs(conn, "examples", left, right, threshold=threshold)
    finally:
        conn.close()
    assert {(p.left, p.right) for p in got} == truth.keys()
    assert all(p.jaccard == pytest.approx(truth[(p.left, p.right)]) and not p.estimated for p in got)
    assert not any({p.left, p.right} <= set(left) or {p.left, p.right} <= set(right) for p in got)


# --- 6. separate signature sets per parameters --------------------------------------------------

def test_other_parameters_make_a_separate_signature_set(nda, tmp_path):
    store = nda.copy(tmp_path)
    n = nda.ingest["documents_added"]
    other = store.json("dedup", "--target", "documents", "--ngram", "3", "--num-perm", "64")
    assert other["params_key"] == "word3-p64-s1-affine64" != KEY
    assert other["rows_hashed"] == n  # nothing reused across parameter sets
    default = store.json("dedup", "--target", "documents")
    assert default["rows_hashed"] == 0 and default["params_key"] == KEY
    assert default["candidate_pairs"] == nda.report["candidate_pairs"] and default["verified_pairs"] == 0
    assert default["cached_pairs"] == nda.report["verified_pairs"]
    per_key = query(store.db, "SELECT params_key, count(*), min(octet_length(hashvalues)), max(octet_length(hashvalues)), "
                              "count(DISTINCT (num_perm, ngram)) FROM signatures GROUP BY params_key ORDER BY params_key")
    assert per_key == [("word3-p64-s1-affine64", n, 512, 512, 1), (KEY, n, 1024, 1024, 1)]
    pairs_per_key = dict(query(store.db, "SELECT params_key, count(*) FROM dedup_pairs GROUP BY params_key"))
    assert pairs_per_key[KEY] == nda.report["verified_pairs"] and "word3-p64-s1-affine64" in pairs_per_key
    assert found_pairs(store.db, "documents", 0.8).keys() == nda.truth.keys()  # default set untouched
    truth3 = pairs_at_least(_sets(store, "documents", DedupParams(ngram=3, num_perm=64)), 0.8)
    assert found_pairs(store.db, "documents", 0.8, "word3-p64-s1-affine64").keys() == truth3.keys()
    runs = query(store.db, "SELECT params_key, params->>'num_perm', params->>'ngram' FROM dedup_runs ORDER BY id")
    assert runs[-2:] == [("word3-p64-s1-affine64", "64", "3"), (KEY, "128", "5")]



# --- 1. rows without shingles, and errors in one line --------------------------------------------

def test_rows_without_shingles_are_signed_but_never_banded(tmp_path):
    """Two punctuation-only texts have all-max signatures, equal in every band: banding them would
    make a pair of rows that share nothing."""
    store = Store(tmp_path)
    texts = ["!!! ??? ...", "--- *** ///", "The receiving party shall return all copies of the information.",
             "the Receiving Party shall return all copies of the information!"]
    (tmp_path / "short.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    assert store.json("ingest", str(tmp_path / "short.jsonl"))["documents_added"] == 4
    assert "no dedup run for documents yet" in run_curator(["dedup", "explain", "document:1"], store.env,
                                                           check=False).stderr
    report = store.json("dedup", "--target", "documents")
    assert report["rows_hashed"] == 4 and report["rows_total"] == 2 and report["candidate_pairs"] == 1
    sigs = dict(query(store.db, "SELECT row_id, hashvalues FROM signatures"))
    shingles = dict(query(store.db, "SELECT row_id, n_shingles FROM signatures"))
    assert shingles == {1: 0, 2: 0, 3: 6, 4: 6}
    assert sigs[1] == sigs[2] == b"\xff" * 1024
    assert found_pairs(store.db, "documents", 0.0) == {(3, 4): 1.0}
    assert {d["row_id"] for d in latest_decisions(store.db, "documents")} == {3, 4}
    refused = run_curator(["dedup", "keep", "document:1"], store.env, check=False)
    assert refused.returncode == 1 and "document 1 is in no near-duplicate cluster" in refused.stderr
    assert "Traceback" not in refused.stderr


# --- 9. bounded memory: tiny batches give the same answer ----------------------------------------

def test_small_batches_give_the_same_pairs_and_decisions(bitext, tmp_path, monkeypatch):
    """Hashing, signature loading and verification in batches (here a few rows and pairs each, so
    every batch boundary is crossed many times) change nothing: same verified pairs, same
    Jaccards, same decisions as the one-batch run of the fixture."""
    from curator.dedup import run as dedup_run
    from curator.dedup import signing

    store = bitext.copy(tmp_path / "batched")
    conn = open_store(store.db)
    try:
        for table in ("dedup_decisions", "dedup_runs", "dedup_pairs", "signatures"):
            conn.execute(f"DELETE FROM {table}")
        monkeypatch.setattr(signing, "HASH_BATCH", 97)
        monkeypatch.setattr(signing, "STORE_ROWS", 200)  # commits while the texts still stream
        monkeypatch.setattr(dedup_run, "VERIFY_PAIRS", 13)
        monkeypatch.setattr(dedup_run, "SIGNATURE_BATCH", 50)
        report = dedup_run.run_dedup(conn, "examples", PARAMS, actor="test").as_dict()
    finally:
        conn.close()
    for key in ("rows_total", "rows_hashed", "candidate_pairs", "verified_pairs", "skipped_pairs",
                "duplicate_pairs", "clusters", "rows_marked_duplicate"):
        assert report[key] == bitext.report[key], key
    assert found_pairs(store.db, "examples", 0.0) == found_pairs(bitext.db, "examples", 0.0)
    assert latest_decisions(store.db, "examples") == latest_decisions(bitext.db, "examples")
