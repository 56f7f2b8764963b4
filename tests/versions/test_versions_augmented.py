"""Acceptance for grouped splits on data nobody here wrote: a paraphrase-augmented clinical set
built from MTS-Dialog's training set (each visit twice: the original dialogue and a
deterministic rewrite of it, with the same note section, ~2,400 rows) and the templated
bitext-support corpus. `version create` then `version approve` succeeds with 0 refusals, the
gate's own relations find 0 cross-split pairs, the split shares are within 2 points of the
request when no group exceeds 2% of the data, and each augmented pair with a shared note
passage sits in one split."""

from __future__ import annotations

import csv
import json
import re

import pytest

from conftest import make_env, query, run_curator, run_json

pytestmark = pytest.mark.slow  # end to end through the CLI and the store: the full suite, not the fast lane

# A deterministic paraphrase: word-level rewrites a translation round trip typically makes.
REWRITES = {"yes": "yeah", "okay": "alright", "ok": "alright", "pain": "discomfort", "doctor": "doctor",
            "have": "have got", "think": "believe", "really": "truly", "little": "bit", "about": "around",
            "start": "begin", "started": "began", "take": "use", "taking": "using", "feel": "sense",
            "feeling": "sensing", "medicine": "medication", "any": "some", "now": "currently",
            "because": "since", "also": "too", "like": "such as", "get": "obtain", "got": "obtained",
            "went": "traveled", "know": "understand", "want": "wish", "see": "notice", "good": "fine"}
_WORD = re.compile(r"[A-Za-z]+")


def paraphrase(dialogue: str) -> str:
    def swap(m: re.Match) -> str:
        word = m.group(0)
        new = REWRITES.get(word.lower(), word)
        return new.capitalize() if word[0].isupper() and new != word else new
    lines = []
    for line in dialogue.splitlines():
        speaker, sep, said = line.partition(":")
        lines.append(speaker + sep + _WORD.sub(swap, said) if sep else _WORD.sub(swap, line))
    return "\n".join(lines)


def _create_and_approve(env, name: str) -> tuple[dict, dict]:
    created = run_json(["version", "create", name, "--seed", "11"], env)
    approved = run_curator(["version", "approve", created["ref"], "--json"], env, check=False)
    assert approved.returncode == 0, approved.stdout[-2000:] + approved.stderr[-2000:]  # 0 refusals
    leakage = json.loads(approved.stdout)["leakage"]
    assert leakage["clean"] and leakage["n_near_duplicate_pairs"] == 0 and leakage["n_ngram_pairs"] == 0
    report = created["grouping"]["report"]
    if report["largest"][0]["share"] <= 0.02:
        assert report["max_gap_points"] <= 2.0, report
    print(name, json.dumps({k: report[k] for k in ("examples", "groups", "requested", "achieved", "max_gap_points")}),
          "largest", report["largest"][0])
    return created, report


def test_augmented_mts_dialog_is_approvable_as_cut(tmp_path, shared_data):
    source = shared_data / "mts-dialog" / "Main-Dataset" / "MTS-Dialog-TrainingSet.csv"
    with source.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    augmented = tmp_path / "mts-augmented.csv"
    with augmented.open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, ["ID", "encounter", "section_header", "section_text", "dialogue"])
        out.writeheader()
        for r in rows:
            base = {"encounter": r["ID"], "section_header": r["section_header"], "section_text": r["section_text"]}
            out.writerow({"ID": r["ID"], **base, "dialogue": r["dialogue"]})
            out.writerow({"ID": f"{r['ID']}-p", **base, "dialogue": paraphrase(r["dialogue"])})
    assert len(rows) * 2 >= 2400
    env = make_env(tmp_path)
    run_curator(["ingest", str(augmented)], env)
    run_curator(["candidates", "extract", "--recipe", "note"], env)
    run_curator(["dedup", "--target", "examples"], env)
    import duckdb

    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute("UPDATE examples SET status = 'approved'")
    created, report = _create_and_approve(env, "mts-aug")
    assert report["examples"] >= 2000 and report["ngram_links"] > 500
    # Each visit's two examples (same note) with a note of 22+ words share 10+ 13-grams: one split.
    pairs = query(env, """
        SELECT d1.metadata->>'encounter', count(DISTINCT i.split)
        FROM dataset_items i JOIN examples e ON e.id = i.example_id JOIN documents d1 ON d1.id = e.document_id
        WHERE len(regexp_extract_all(lower(e.messages->>'$[1].content'), '\\w+')) >= 22
        GROUP BY 1 HAVING count(*) = 2""")
    assert len(pairs) > 200 and all(n == 1 for _, n in pairs)


@pytest.mark.parametrize("corpus", ["bitext-support"])
def test_templated_support_data_is_approvable_and_a_planted_leak_is_grouped(tmp_path, shared_data, corpus):
    env = make_env(tmp_path)
    run_curator(["ingest", str(shared_data / corpus)], env)
    answer = ("To cancel an order placed with us, open your account page, choose Orders, select the order you "
              "wish to cancel and press the Cancel button; a refund reaches the original payment method within "
              "five business days, and you receive a confirmation email with the refund reference number.")
    plants = tmp_path / "plants.jsonl"
    plants.write_text("".join(json.dumps({"messages": [{"role": "user", "content": q},
                                                       {"role": "assistant", "content": answer}]}) + "\n"
                              for q in ("how do I cancel my order?", "I want my money back for an order")))
    run_curator(["ingest", str(plants), "--source", "plants"], env)
    import duckdb

    with duckdb.connect(env["CURATOR_DB"]) as conn:
        conn.execute("UPDATE examples SET status = 'approved'")
    created, report = _create_and_approve(env, "support")
    assert report["largest"][0]["share"] < 0.02 and report["boilerplate_ngrams_ignored"] > 0
    assert created["grouping"]["overlap"]["boilerplate_count"] == 10  # the setting is recorded
    planted = query(env, "SELECT e.id FROM examples e JOIN sources s ON s.id = e.source_id WHERE s.name = 'plants'")
    groups = query(env, "SELECT DISTINCT group_key FROM dataset_items WHERE example_id IN "
                        f"({', '.join(str(p[0]) for p in planted)})")
    assert len(planted) == 2 and len(groups) == 1  # the planted real leak is one group
