"""Dataset versions on a store built from the shared MTS-Dialog corpus with the real CLI (ingest,
candidates extract note + turns, dedup), examples approved in SQL as review would: grouped
splits, the leakage check with planted cross-split paraphrases, the frozen test set, exact
diffs, immutability and tamper detection, the --where filter and the rating floor."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb
import orjson
import pytest

from conftest import copy_store, make_env, run_curator, run_json

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

CORPUS = "mts-dialog/Main-Dataset/MTS-Dialog-ValidationSet.csv"
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # datasets, imported below, reads it once; local files only


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory, shared_data) -> Path:
    """One store per module: 100 transcripts → 100 note + ~300 turn examples, dedup run, every
    example approved except ids divisible by 10 (rejected)."""
    root = tmp_path_factory.mktemp("versions_corpus")
    env = make_env(root)
    run_curator(["ingest", str(shared_data / CORPUS)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    run_curator(["candidates", "extract", "--recipe", "turns"], env)
    run_curator(["dedup", "--target", "examples"], env)
    with duckdb.connect(str(root / "curator.duckdb")) as conn:
        conn.execute("UPDATE examples SET status = CASE WHEN id % 10 = 0 THEN 'rejected' ELSE 'approved' END")
    return root


@pytest.fixture
def env(corpus_root, tmp_path) -> dict[str, str]:
    """A private copy of the module's store for one test."""
    return copy_store(corpus_root, tmp_path)


def sql(env, statement: str, params=None) -> list[tuple]:
    with duckdb.connect(env["CURATOR_DB"]) as conn:
        return conn.execute(statement, params or []).fetchall()


def items(env, ref: str) -> dict[int, str]:
    name, number = ref.split("@")
    return dict(sql(env, "SELECT example_id, split FROM dataset_items i JOIN dataset_versions v ON v.id = i.version_id "
                         "WHERE v.name = ? AND v.number = ?", [name, int(number)]))


def fails(env, *args) -> str:
    proc = run_curator(list(args), env, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def plant(env, records: list[dict]) -> list[int]:
    """Ingest chat records as a new source (relative path, so origins are stable) and approve them."""
    root = Path(env["CURATOR_DB"]).parent
    (root / "plants.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    run_curator(["ingest", "plants.jsonl", "--source", "plants"], env, cwd=root)
    ids = [r[0] for r in sql(env, "SELECT e.id FROM examples e JOIN sources s ON s.id = e.source_id "
                                  "WHERE s.name = 'plants' ORDER BY e.id")]
    assert len(ids) == len(records)
    sql(env, "UPDATE examples SET status = 'approved' WHERE id IN (SELECT unnest(?::BIGINT[]))", [ids])
    return ids


def approve_resolving(env, name: str, **create_args) -> tuple[str, list[int]]:
    """Create and approve (in process: the CLI paths are tested on their own); on refused
    approval reject one example of each named pair (as a steward resolving it in review would)
    and cut a new version. Returns (ref, rejected)."""
    from curator.store import connect
    from curator.versions import LeakageFound, approve_version, create_version

    rejected: list[int] = []
    conn = connect(env["CURATOR_DB"])
    try:
        for _ in range(3):
            ref = create_version(conn, name, "cli:test", **create_args)["ref"]
            try:
                assert approve_version(conn, ref, "cli:test")["status"] == "approved"
                return ref, rejected
            except LeakageFound as exc:
                report = exc.report
            pairs = report["near_duplicate_pairs"] + report["ngram_pairs"]
            assert pairs and not report["clean"]
            drop = sorted({p["b"] for p in pairs})
            conn.execute("UPDATE examples SET status = 'rejected' WHERE id IN (SELECT unnest(?::BIGINT[]))", [drop])
            rejected += drop
    finally:
        conn.close()
    raise AssertionError("leakage not resolved after 3 versions")


def test_groups_never_straddle_and_planted_leaks_block_approval(env):
    originals = sql(env, """
        SELECT e.id, e.messages FROM examples e JOIN example_dedup d ON d.example_id = e.id
        WHERE e.status = 'approved' AND NOT d.is_duplicate AND e.metadata->>'recipe' = 'note'
          AND len(string_split(e.messages->>'$[1].content', ' ')) >= 30
        ORDER BY e.id LIMIT 32""")
    assert len(originals) == 32
    records = []
    for _, messages in originals[:16]:  # near-copies: same note, the request reworded by one word
        msgs = orjson.loads(messages)
        msgs[0]["content"] = msgs[0]["content"].replace("Write the", "Please write the", 1) + " Thanks."
        records.append({"messages": msgs})
    for k, (_, messages) in enumerate(originals[16:]):  # paraphrases: another question, a copied 30-word passage
        passage = " ".join(orjson.loads(messages)[1]["content"].split()[:30])
        records.append({"messages": [{"role": "user", "content": f"What did the clinician record about visit {k}?"},
                                     {"role": "assistant", "content": f"In short: {passage} Nothing else was noted."}]})
    planted = plant(env, records)
    pairs = list(zip(planted, [o[0] for o in originals]))

    created = run_json(["version", "create", "mts", "--seed", "3"], env)
    ref = created["ref"]
    assert ref == "mts@1" and created["unclustered"] == len(planted)  # planted after the dedup run, grouped anyway
    split = items(env, ref)
    assert set(split) >= set(planted) and not any(i % 10 == 0 for i in split if i not in planted)
    assert set(split.values()) == {"train", "validation", "test"}
    # No source document and no near-duplicate cluster straddles splits; documents do hold several examples.
    for column in ("e.document_id", "d.cluster_id"):
        straddling = sql(env, f"""SELECT {column}, count(DISTINCT i.split) FROM dataset_items i
            JOIN examples e ON e.id = i.example_id JOIN example_dedup d ON d.example_id = e.id
            WHERE {column} IS NOT NULL GROUP BY 1 HAVING count(DISTINCT i.split) > 1""")
        assert straddling == [], column
    assert sql(env, "SELECT max(n) FROM (SELECT count(*) n FROM dataset_items i JOIN examples e ON e.id = i.example_id "
                    "GROUP BY e.document_id)")[0][0] >= 3

    # The splitter used the gate's relations: every planted pair sits in one split with its original.
    assert [(p, o, split[p], split[o]) for p, o in pairs if split[p] != split[o]] == [], created["grouping"]
    report_at_create = created["grouping"]["report"]
    assert report_at_create["near_duplicate_pairs"] >= 16 and report_at_create["ngram_links"] >= 16
    assert created["grouping"]["overlap"] == {"ngram": 13, "fields": ["response", "input"], "min_shared": 10,
                                              "boilerplate_share": 0.05, "boilerplate_count": 10,
                                              "paraphrase": {"input_similarity": 0.5}}  # no embedding model set
    leakage = run_json(["version", "leakage", ref], env)
    assert leakage["clean"] and leakage["n_near_duplicate_pairs"] == leakage["n_ngram_pairs"] == 0
    assert leakage["overlap"] == created["grouping"]["overlap"]

    # The gate still runs the full check: with each planted example moved to another split than its
    # original (as a version cut without these relations would hold them), it names every pair.
    from curator.store import connect
    from curator.versions import resolve
    from curator.versions.hashing import verify_version
    from curator.versions.leakage import check_leakage, describe

    conn = connect(env["CURATOR_DB"])
    try:
        version = resolve(conn, ref)
        moved = [dict(i) for i in verify_version(conn, version)]
        other = {"train": "test", "validation": "train", "test": "train"}
        for i in moved:
            if i["example_id"] in planted:
                i["split"] = other[i["split"]]
        report = check_leakage(conn, version, moved)
    finally:
        conn.close()
    order = ("train", "validation", "test")
    new_split = {i["example_id"]: i["split"] for i in moved}
    near = {(p["a"], p["b"]) for p in report["near_duplicate_pairs"]}
    ngram = {(p["a"], p["b"]) for p in report["ngram_pairs"]}
    assert not report["clean"]
    for p, o in pairs:
        pair = tuple(sorted((p, o), key=lambda i: order.index(new_split[i])))
        if p in planted[:16]:
            assert pair in near  # Jaccard over the threshold: the check finds it
        else:
            assert pair in ngram and pair not in near  # only the response 13-grams give it away
    first = (report["near_duplicate_pairs"] or report["ngram_pairs"])[0]
    assert describe(report).startswith(f"example {first['a']} ({first['split_a']}) ~ example {first['b']} "
                                       f"({first['split_b']})")

    # The version as cut is approved at once: 0 refusals.
    approved = run_json(["version", "approve", ref], env)
    assert approved["status"] == "approved" and approved["leakage"]["clean"]


def test_frozen_test_set_and_exact_diff(env, tmp_path):
    v1, _ = approve_resolving(env, "notes", seed=1)
    s1 = items(env, v1)
    train = sorted(i for i, s in s1.items() if s == "train")
    test = sorted(i for i, s in s1.items() if s == "test")
    # Planted changes: two examples rejected, two new ones approved, one edited in review.
    removed = [train[0], test[0]]
    sql(env, "UPDATE examples SET status = 'rejected' WHERE id IN (?, ?)", removed)
    added = plant(env, [{"messages": [{"role": "user", "content": f"Plant question {k} about dosage schedules?"},
                                      {"role": "assistant", "content": f"Plant answer {k}: take it twice daily."}]}
                        for k in range(2)])
    edited = train[1]
    sql(env, "INSERT INTO review_outcomes (example_id, verdict, source, final_response, n_reviews) "
             "VALUES (?, 'edit', 'single', 'Edited by the reviewer.', 1)", [edited])
    v2 = run_json(["version", "create", "notes", "--seed", "1"], env)["ref"]
    again = run_json(["version", "create", "notes", "--seed", "1"], env)  # a repeated command adds nothing
    assert (again["ref"], again["created"]) == (v2, False)
    d = run_json(["version", "diff", v1, v2], env)
    assert (d["added"], d["removed"], d["changed"]) == (added, sorted(removed), [edited])
    # Shares are filled in hash order, so a group at a share boundary may move as the pool changes;
    # groups that were in test of the approved v1 never leave it (frozen), and few groups move.
    assert all(m["from"] != "test" and m["to"] != "test" for m in d["moved"])
    assert len(d["moved"]) <= 0.03 * len(s1)
    assert d["unchanged"] == len(s1) - 3 - len(d["moved"])
    shown = sql(env, "SELECT messages FROM dataset_items i JOIN dataset_versions v ON v.id = i.version_id "
                     "WHERE v.name = 'notes' AND v.number = 2 AND example_id = ?", [edited])[0][0]
    assert orjson.loads(shown)[-1] == {"role": "assistant", "content": "Edited by the reviewer."}

    # A draft exports (for inspection), but a trainer reading its manifest refuses it.
    from curator.errors import CuratorError
    from curator.store import connect
    from curator.versions import export_version, read_manifest

    conn = connect(env["CURATOR_DB"])
    try:
        export_version(conn, v2, "openai", tmp_path / "draft")
    finally:
        conn.close()
    with pytest.raises(CuratorError, match="only approved versions may be trained on"):
        read_manifest(tmp_path / "draft")
    assert read_manifest(tmp_path / "draft", require_approved=False)["status"] == "draft"

    # Another seed reshuffles groups, but what was in test in the approved v1 stays in test.
    v3 = run_json(["version", "create", "notes", "--seed", "99"], env)["ref"]
    s3 = items(env, v3)
    assert all(s3[i] == "test" for i in test if i in s3)
    moved = run_json(["version", "diff", v1, v3], env)["moved"]
    assert moved and all(m["from"] != "test" for m in moved)
    fresh = items(env, run_json(["version", "create", "other", "--seed", "99"], env)["ref"])
    assert any(fresh[i] != "test" for i in test if i in fresh), "seed 99 alone would have moved test examples"


def test_versions_never_change_and_tampering_is_detected(env, tmp_path):
    ref, _ = approve_resolving(env, "frozen", where="kind = 'extracted'")
    before = run_json(["version", "show", ref], env)
    assert "already approved" in fails(env, "version", "approve", ref)
    out1 = tmp_path / "e1"
    run_curator(["export", ref, "--format", "openai", "--out", str(out1)], env)
    # Changing the examples underneath a version changes nothing in it.
    sql(env, "UPDATE examples SET messages = '[{\"role\":\"user\",\"content\":\"x\"},"
             "{\"role\":\"assistant\",\"content\":\"y\"}]', status = 'rejected'")
    assert "nothing to version" in fails(env, "version", "create", "frozen")
    out2 = tmp_path / "e2"
    run_curator(["export", ref, "--format", "openai", "--out", str(out2)], env)
    assert all((out1 / f).read_bytes() == (out2 / f).read_bytes() for f in ("train.jsonl", "test.jsonl", "manifest.json"))
    assert run_json(["version", "show", ref], env)["content_hash"] == before["content_hash"]
    # What a trainer reads: the manifest, once every file matches it and the version is approved.
    from curator.versions import VersionTampered, read_manifest

    assert read_manifest(out2)["content_hash"] == before["content_hash"]
    with open(out2 / "train.jsonl", "ab") as f:
        f.write(b'{"messages": []}\n')
    with pytest.raises(VersionTampered, match="changed after export"):
        read_manifest(out2)

    # No approval without an approver, even through SQL (a CHECK constraint).
    with pytest.raises(duckdb.ConstraintException):
        sql(env, "UPDATE dataset_versions SET approved_by = NULL")
    # Tampering underneath is detected on every read: show, diff, export, approve.
    victim = sql(env, "SELECT example_id FROM dataset_items ORDER BY example_id LIMIT 1")[0][0]
    sql(env, "UPDATE dataset_items SET messages = json_array(json_object('role', 'assistant', 'content', 'tampered')) "
             "WHERE example_id = ?", [victim])
    assert f"example {victim} were altered" in fails(env, "version", "show", ref)
    out3 = tmp_path / "e3"
    assert "cannot be trusted" in fails(env, "export", ref, "--format", "parquet", "--out", str(out3))
    assert not out3.exists() and not list(tmp_path.glob(".e3.partial*"))
    sql(env, "UPDATE dataset_items SET messages = ?, example_hash = ? WHERE example_id = ?",
        ['[{"content":"tampered","role":"assistant"}]',
         __import__("hashlib").sha256(b'[{"content":"tampered","role":"assistant"}]').hexdigest(), victim])
    assert "content_hash" in fails(env, "version", "show", ref)  # consistent item, whole-version hash catches it


def test_where_filter_is_checked_and_min_rating_uses_newest_reviews(env):
    from curator.store import connect
    from curator.versions import FilterError, create_version

    conn = connect(env["CURATOR_DB"])
    try:
        version = create_version(conn, "notes", "test", where="kind = 'extracted' AND metadata->>'recipe' = 'note'")
        recipes = conn.execute("SELECT DISTINCT e.metadata->>'recipe' FROM dataset_items i JOIN examples e "
                               "ON e.id = i.example_id WHERE i.version_id = ?", [version["id"]]).fetchall()
        assert recipes == [("note",)] and version["filter"].startswith("kind =")
        refused = {
            "kind = 'x'; DROP TABLE examples": "';'",
            "id IN (SELECT id FROM examples)": "subqueries are refused",
            "(SELECT count(*) FROM read_text('/etc/passwd')) > 0": "subqueries are refused",
            "getenv('HOME') = 'x'": "getenv() is refused",
            "password = 'x'": "unknown column 'password'",
            "examples.id = 1": "unknown column",
            "kind = ": "not a valid SQL expression",
            "true) OR (true": None,  # still one expression: allowed, harmless
            "kind > 3 + 'a'": "failed",
            "1 = 1 -- comment": "comments",
        }
        for where, reason in refused.items():
            if reason is None:
                create_version(conn, "loose", "test", where=where)
                continue
            with pytest.raises(FilterError, match=re.escape(reason)):
                create_version(conn, "bad", "test", where=where)
        assert conn.execute("SELECT count(*) FROM dataset_versions WHERE name = 'bad'").fetchone()[0] == 0

        # Ratings: newest row per annotation counts, deleted annotations do not.
        a, b, c = (r[0] for r in conn.execute("SELECT id FROM version_candidates ORDER BY id LIMIT 3").fetchall())
        reviews = [  # (example, annotation, event, rating)
            (a, 1, "created", 2), (a, 1, "updated", 5),          # a: newest 5 → 5
            (b, 2, "created", 5), (b, 3, "created", 2),          # b: mean 3.5
            (c, 4, "created", 5), (c, 5, "created", 1), (c, 5, "deleted", 1),  # c: the deleted one drops → 5
        ]
        for k, (ex, ann, event, rating) in enumerate(reviews):
            conn.execute("INSERT INTO reviews (example_id, ls_project_id, ls_task_id, ls_annotation_id, event, "
                         "received_via, reviewer, verdict, rating_correctness, reasons, payload_hash, recorded_at) "
                         "VALUES (?, 1, ?, ?, ?, 'pull', 'r@x', 'accept', ?, '[]', ?, now() + to_seconds(?))",
                         [ex, ex, ann, event, rating, f"h{k}", k])
        rated = create_version(conn, "rated", "test", min_rating=4)  # an int is stored and hashed as 4.0
        got = {r[0] for r in conn.execute("SELECT example_id FROM dataset_items WHERE version_id = ?",
                                          [rated["id"]]).fetchall()}
        assert got == {a, c} and rated["min_rating"] == 4.0
        # Every recorded parameter is under the content hash, the creation time included.
        from curator.versions import VersionTampered, resolve

        for change, undo in (("created_at = created_at + INTERVAL 1 SECOND", "created_at = created_at - INTERVAL 1 SECOND"),
                             ("seed = seed + 1", "seed = seed - 1"), ("filter = 'true'", "filter = NULL")):
            conn.execute(f"UPDATE dataset_versions SET {change} WHERE name = 'rated'")
            with pytest.raises(VersionTampered, match="content_hash"):
                resolve(conn, rated["ref"])
            conn.execute(f"UPDATE dataset_versions SET {undo} WHERE name = 'rated'")
            assert resolve(conn, rated["ref"])["content_hash"] == rated["content_hash"]
    finally:
        conn.close()


def test_groups_are_connected_components():
    from curator.errors import CuratorError
    from curator.versions.splits import Member, assign, group_keys, parse_split

    members = [Member(1, 1, 10, "f:1"), Member(2, 1, 11, "f:2"),  # cluster 1 links documents 10 and 11
               Member(3, 3, 11, "f:3"), Member(4, 4, None, "f:4"),  # document 11 links cluster 3
               Member(5, 4, None, "f:5"), Member(6, 6, None, "f:6")]  # cluster 4 links records f:4, f:5
    keys = group_keys(members)
    assert keys == {1: "document:10", 2: "document:10", 3: "document:10", 4: "origin:f:4", 5: "origin:f:4",
                    6: "origin:f:6"}
    shares = parse_split("0.5,0.25,0.25")
    placed = assign(members, 7, shares, frozen_test={5})
    assert placed[4] == placed[5] == ("test", "origin:f:4")
    assert assign(members, 7, shares, set()) == assign(list(reversed(members)), 7, shares, set())
    for bad in ("0.8,0.1", "0.8,0.3,0.1", "a,b,c", "0,0.5,0.5"):
        with pytest.raises(CuratorError, match="--split"):
            parse_split(bad)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_exports_load_back_pass_the_cookbook_checks_and_reproduce_byte_for_byte(env, tmp_path):
    import hashlib

    import datasets
    import pandas as pd

    from curator.ingest.chat import validate_messages
    from curator.store import connect
    from curator.versions import export_version, resolve

    ref, _ = approve_resolving(env, "support", where="metadata->>'recipe' = 'turns'")
    split = items(env, ref)
    conn = connect(env["CURATOR_DB"])
    try:
        version = resolve(conn, ref)
        manifests = {}
        for fmt in ("openai", "alpaca", "parquet", "hf"):
            first = export_version(conn, ref, fmt, tmp_path / "a" / fmt)
            again = export_version(conn, ref, fmt, tmp_path / "b" / fmt)
            assert first == again and _files(tmp_path / "a" / fmt) == _files(tmp_path / "b" / fmt), fmt
            manifests[fmt] = first
    finally:
        conn.close()
    counts = {s: sum(1 for v in split.values() if v == s) for s in ("train", "validation", "test")}
    assert min(counts.values()) > 0
    for fmt, m in manifests.items():
        assert (m["ref"], m["version_id"], m["content_hash"], m["status"]) == (ref, version["id"], version["content_hash"], "approved")
        assert m["approved_by"] and m["parameters"]["filter"] == "metadata->>'recipe' = 'turns'" and m["parameters"]["dedup"]
        assert {s: v["count"] for s, v in m["splits"].items()} == counts
        for f, digest in m["files"].items():
            assert hashlib.sha256((tmp_path / "a" / fmt / f).read_bytes()).hexdigest() == digest
        assert json.loads((tmp_path / "a" / fmt / "manifest.json").read_text()) == m

    base = tmp_path / "a"
    openai = datasets.load_dataset("json", data_files={s: str(base / "openai" / f"{s}.jsonl") for s in counts},
                                   cache_dir=str(tmp_path / "hf-cache"))
    assert {s: len(openai[s]) for s in counts} == counts
    for s in counts:  # the OpenAI cookbook's format checks, line by line
        for line in (base / "openai" / f"{s}.jsonl").read_text().splitlines():
            record = json.loads(line)
            assert set(record) == {"messages"}
            messages, warnings = validate_messages(record["messages"])
            assert messages == record["messages"] and not [w for w in warnings if "unknown key" in w]
    alpaca = datasets.load_dataset("json", data_files={s: str(base / "alpaca" / f"{s}.json") for s in counts},
                                   cache_dir=str(tmp_path / "hf-cache"))
    assert {s: len(alpaca[s]) for s in counts} == counts
    assert {"instruction", "input", "output", "system", "history"} <= set(alpaca["train"].column_names)
    assert all(r["output"] for r in alpaca["train"])
    for s in counts:
        frame = pd.read_parquet(base / "parquet" / f"{s}.parquet")
        assert sorted(frame["example_id"]) == sorted(i for i, v in split.items() if v == s)
        assert all(m[-1]["role"] == "assistant" for m in frame["messages"])
    hf = datasets.load_from_disk(str(base / "hf"))
    assert {s: hf[s].num_rows for s in counts} == counts
    assert hf["train"][0]["messages"] == json.loads((base / "openai" / "train.jsonl").read_text().splitlines()[0])["messages"]
