"""`curator candidates extract` on the real corpora: counts derived from the files, turn order
kept, never an empty assistant message, and a re-run adds nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import copy_store, make_env, query, run_curator, run_json
from curator.candidates.recipes import RecipeOptions, Transcript, Turn, conversation, merge_turns
from curator.normalize import normalize_text

CSV_DIRS = ("mts-dialog/Main-Dataset", "aci-bench/challenge_data")


def dialogue_files(shared: Path) -> list[Path]:
    return [p for d in CSV_DIRS for p in sorted((shared / d).glob("*.csv")) if not p.name.endswith("_metadata.csv")]


def raw_rows(shared: Path) -> list[dict]:
    found = []
    for path in dialogue_files(shared):
        with path.open(newline="", encoding="utf-8") as handle:
            found += list(csv.DictReader(handle))
    return found


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, shared_data) -> Path:
    """One store with mts-dialog, aci-bench and bitext-support ingested; tests work on copies."""
    root = tmp_path_factory.mktemp("ingested")
    bitext = next((shared_data / "bitext-support").glob("*.csv"))
    run_curator(["ingest", str(shared_data / CSV_DIRS[0]), str(shared_data / CSV_DIRS[1]), str(bitext),
                 "--exclude", "*_metadata.csv"], make_env(root))
    return root


@pytest.fixture
def env(ingested, tmp_path) -> dict[str, str]:
    return copy_store(ingested, tmp_path)


def extracted(env: dict) -> list[dict]:
    return [{"messages": json.loads(m), "metadata": json.loads(meta), "document_id": d, "text": t}
            for m, meta, d, t in query(env, "SELECT e.messages, e.metadata, e.document_id, d.text FROM examples e "
                                            "JOIN documents d ON d.id = e.document_id "
                                            "WHERE e.kind = 'extracted' ORDER BY e.id")]


def stored_turns(env: dict) -> dict[int, list[dict]]:
    return {i: json.loads(t) for i, t in query(env, "SELECT id, turns FROM documents WHERE kind = 'transcript'")}


def exchanges(turns: list[dict]) -> int:
    """(user, assistant) adjacencies once consecutive turns of one role are merged."""
    roles = [t["role"] for t in turns if t["role"] in ("user", "assistant")]
    merged = [r for i, r in enumerate(roles) if i == 0 or roles[i - 1] != r]
    return sum(1 for a, b in zip(merged, merged[1:]) if (a, b) == ("user", "assistant"))


def assert_well_formed(examples: list[dict]) -> None:
    for ex in examples:
        roles = [m["role"] for m in ex["messages"]]
        assert roles[-1] == "assistant" and "user" in roles
        assert all(m["content"].strip() for m in ex["messages"]), ex
        assert set(roles) <= {"system", "user", "assistant"}


def assert_in_order(text: str, contents: list[str]) -> None:
    """Each turn's lines appear in the dialogue after the previous turn's: order is kept."""
    cursor = 0
    for content in contents:
        for line in content.split("\n"):
            at = text.find(line, cursor)
            assert at >= 0, f"{line!r} not found in order"
            cursor = at + len(line)


def test_note_recipe_one_example_per_distinct_dialogue_with_its_target(env, shared_data):
    rows = raw_rows(shared_data)
    targets: dict[str, set[str]] = {}
    for row in rows:
        target = (row.get("section_text") or row.get("note") or "").strip()
        assert target, "every row of these corpora has a target"
        targets.setdefault(normalize_text(row["dialogue"]), set()).add(normalize_text(target).strip())
    # Exact-duplicate dialogues are stored once at ingest (their other targets kept as duplicates).
    report = run_json(["candidates", "extract", "--recipe", "note"], env)
    assert report["documents"] == len(targets)
    assert report == {"recipe": "note", "documents": len(targets), "examples_added": len(targets), "skipped": {},
                      "turns_without_role": report["turns_without_role"]}
    examples = extracted(env)
    assert len(examples) == len(targets)
    assert_well_formed(examples)
    for ex in examples:
        user, reply = ex["messages"]
        assert user["content"].startswith("Write the ") and user["content"].endswith(ex["text"])
        assert reply["content"] in targets[ex["text"]]
    genhx = [ex for ex in examples if ex["metadata"]["section"] == "GENHX"]
    assert genhx and genhx[0]["messages"][0]["content"].startswith(
        "Write the history of present illness section of the clinical note for this visit.")
    aci = [ex for ex in examples if ex["metadata"]["target_field"] == "note"]
    assert aci and all(ex["messages"][0]["content"].startswith("Write the clinical note for this visit.")
                       for ex in aci)
    assert run_json(["candidates", "extract", "--recipe", "note"], env)["examples_added"] == 0


@pytest.mark.slow
def test_conversation_recipe_keeps_turn_order_and_splits_on_budget(env):
    turns = stored_turns(env)
    with_exchange = {i for i, t in turns.items() if exchanges(t)}
    whole = run_json(["candidates", "extract", "--recipe", "conversation", "--max-tokens", "1000000",
                      "--max-turns", "1000000"], env)
    assert whole["examples_added"] == len(with_exchange)
    assert whole["skipped"] == {"no_user_assistant_exchange": len(turns) - len(with_exchange)}
    examples = extracted(env)
    assert_well_formed(examples)
    assert {ex["document_id"] for ex in examples} == with_exchange
    for ex in examples:
        roles = [m["role"] for m in ex["messages"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2)  # merged: roles alternate
        assert len(roles) == 2 * exchanges(turns[ex["document_id"]])
        assert_in_order(ex["text"], [m["content"] for m in ex["messages"]])
    multi = [ex for ex in examples if any("\n" in m["content"] for m in ex["messages"])]
    assert multi, "some turns span several lines or merged turns"

    # A small budget splits at exchange boundaries; the parts, in order, are the whole conversation.
    split = run_json(["candidates", "extract", "--recipe", "conversation", "--max-tokens", "200", "--max-turns", "1000"],
                     env)
    parts = extracted(env)[len(examples):]
    assert split["examples_added"] == len(parts) > 0
    by_doc: dict[int, list[dict]] = {}
    for ex in extracted(env):
        if ex["metadata"]["parts"] > 1:
            by_doc.setdefault(ex["document_id"], []).append(ex)
    assert by_doc
    whole_by_doc = {ex["document_id"]: ex["messages"] for ex in examples}
    for doc_id, pieces in by_doc.items():
        pieces.sort(key=lambda ex: ex["metadata"]["part"])
        assert [m for p in pieces for m in p["messages"]] == whole_by_doc[doc_id]
        for p in pieces:
            assert p["messages"][0]["role"] == "user" and p["messages"][-1]["role"] == "assistant"
            tokens = p["metadata"]["approx_tokens"]
            assert tokens <= 200 or (len(p["messages"]) == 2 and p["metadata"]["over_budget"])
    again = run_json(["candidates", "extract", "--recipe", "conversation", "--max-tokens", "200", "--max-turns", "1000"],
                     env)
    assert again["examples_added"] == 0


@pytest.mark.slow
def test_turns_recipe_one_example_per_exchange_with_prior_context(env):
    turns = stored_turns(env)
    expected = sum(exchanges(t) for t in turns.values())
    report = run_json(["candidates", "extract", "--recipe", "turns"], env)
    # Equal pairs (e.g. the same opening question and answer, no context) are stored once.
    assert report["examples_added"] + report["skipped"].get("duplicate", 0) == expected
    examples = extracted(env)
    assert len(examples) == report["examples_added"]
    assert_well_formed(examples)
    for ex in examples:
        messages = ex["messages"]
        assert [m["role"] for m in messages][-2:] == ["user", "assistant"]
        assert len(messages) == 2 + (ex["metadata"]["context_turns"] > 0)
        assert_in_order(ex["text"], [m["content"] for m in messages[-2:]])
        if len(messages) == 3:
            assert messages[0]["role"] == "system" and messages[0]["content"].startswith("Conversation so far:")
    assert run_json(["candidates", "extract", "--recipe", "turns"], env)["examples_added"] == 0


@pytest.mark.slow
def test_bitext_imported_examples_are_left_as_they_are(env, shared_data):
    """bitext-support rows are instruction/response pairs: ingest imports them as examples and
    extraction, which reads transcripts only, neither adds to nor changes them."""
    bitext = next((shared_data / "bitext-support").glob("*.csv"))
    with bitext.open(newline="", encoding="utf-8") as handle:
        n_rows = sum(1 for _ in csv.DictReader(handle))
    sql = "SELECT count(*), sum(hash(messages::VARCHAR || status)) FROM examples WHERE kind = 'imported'"
    before = query(env, sql)[0]
    duplicates = query(env, "SELECT count(*) FROM ingest_duplicates WHERE target = 'example'")[0][0]
    assert before[0] == n_rows - duplicates
    for recipe in ("conversation", "note", "turns"):
        run_curator(["candidates", "extract", "--recipe", recipe], env)
    assert query(env, sql)[0] == before
    sources = query(env, "SELECT DISTINCT s.name FROM examples e JOIN sources s ON s.id = e.source_id "
                         "WHERE e.kind = 'extracted'")
    assert "bitext" not in " ".join(name for (name,) in sources).lower()
    assert query(env, "SELECT count(*) FROM audit_log WHERE action = 'candidates.extract'")[0][0] == 3


def test_limit_speaker_override_and_errors(env):
    report = run_json(["candidates", "extract", "--recipe", "conversation", "--limit", "5"], env)
    assert report["documents"] == 5
    # Every speaker made the assistant: no user turn is left, so no exchange and nothing added.
    none = run_json(["candidates", "extract", "--recipe", "turns", "--limit", "5",
                     "--speaker", "patient=assistant"], env)
    assert none["examples_added"] == 0 and none["skipped"] == {"no_user_assistant_exchange": 5}
    bad = run_curator(["candidates", "extract", "--recipe", "poem"], env, check=False)
    assert bad.returncode == 1 and "recipe" in bad.stderr and "'poem'" in bad.stderr and "Traceback" not in bad.stderr


def test_conversation_recipe_merges_turns_and_drops_unanswered_edges():
    def turn(role, text):
        return Turn(role, role, text)

    doc = Transcript(1, 1, 1, "x:1", "", [turn("assistant", "Hello."), turn("user", "My knee."),
                                          turn("user", "It hurts."), turn("assistant", "Since when?"),
                                          turn("user", "Monday."), turn("assistant", "  "), turn("user", "Bye.")],
                     {})
    assert [t.text for t in merge_turns(doc.turns)] == ["Hello.", "My knee.\nIt hurts.", "Since when?",
                                                        "Monday.\nBye."]
    (only,) = list(conversation(doc, RecipeOptions()))
    assert only.messages == [{"role": "user", "content": "My knee.\nIt hurts."},
                             {"role": "assistant", "content": "Since when?"}]
    assert only.metadata["turns_left_out"] == 2
