"""The decision rules and the reading of annotations, on their own (no server needed)."""

from __future__ import annotations

import pytest

from annotation.agreement import agreement
from annotation.labeling import pii_note, source_html
from annotation.outcomes import decide
from annotation.parse import InvalidAnnotation, edit_diff, parse_annotation


def review(verdict, role="review", text=None, reviewer="a"):
    return {"project_role": role, "verdict": verdict, "edited_response": text, "reviewer": reviewer}


def test_nothing_is_decided_before_the_overlap_is_met():
    assert decide([review("accept")], "draft", overlap=2, min_similarity=0.9) is None
    assert decide([review("accept"), review("accept", reviewer="b")], "draft", 2, 0.9)["source"] == "agreement"
    single = decide([review("reject")], "draft", 1, 0.9)
    assert single == {"verdict": "reject", "source": "single", "final_response": None, "final_turns": None,
                      "n_reviews": 1}


def test_edits_agree_only_when_alike_and_an_adjudication_always_wins():
    close = [review("edit", text="The dose is 5 mg daily."), review("edit", text="The dose is 5 mg daily!", reviewer="b")]
    far = [review("edit", text="The dose is 5 mg daily."), review("edit", text="Stop the drug.", reviewer="b")]
    assert decide(close, "d", 2, 0.9)["verdict"] == "edit"
    assert decide(close, "d", 2, 0.9)["final_response"] == "The dose is 5 mg daily."
    assert decide(far, "d", 2, 0.9)["verdict"] == "disputed"
    ruled = decide(far + [review("edit", role="adjudication", text="Final.")], "d", 2, 0.9)
    assert ruled == {"verdict": "edit", "source": "adjudication", "final_response": "Final.",
                     "final_turns": ["Final."], "n_reviews": 3}
    assert decide(far + [review("accept", role="adjudication")], "d", 2, 0.9)["final_response"] == "d"


def test_annotation_reading_refuses_unknown_codes_and_keeps_diffs():
    ann = {"id": 7, "task": 3, "completed_by": 2, "result": [
        {"from_name": "verdict", "value": {"choices": ["reject"]}},
        {"from_name": "reasons", "value": {"choices": ["made_up"]}}]}
    with pytest.raises(InvalidAnnotation, match="made_up"):
        parse_annotation(ann)
    with pytest.raises(InvalidAnnotation, match="annotation 9: malformed"):  # no task id anywhere, a bad rating
        parse_annotation({"id": 9, "result": [{"from_name": "correctness", "value": {"rating": "five"}}]})
    ann["result"][1]["value"]["choices"] = ["pii", "unsafe"]
    parsed = parse_annotation(ann)
    assert parsed.reasons == ["pii", "unsafe"] and parsed.ls_task_id == 3 and parsed.ls_user_id == 2
    assert parse_annotation(ann).payload_hash == parsed.payload_hash
    assert edit_diff("a\nb\n", "a\nc\n").splitlines()[-2:] == ["-b", "+c"]
    assert edit_diff("same", "same") is None


def test_agreement_matches_the_hand_computed_alpha_and_pairs():
    a = ["accept"] * 8 + ["reject"] * 4
    b = ["accept"] * 6 + ["reject"] * 5 + ["accept"]
    rows = [{"example_id": i, "reviewer": who, "verdict": v, "rating_correctness": None, "rating_style": None,
             "response": "x"} for who, verdicts in (("a", a), ("b", b)) for i, v in enumerate(verdicts)]
    result = agreement(rows)
    assert result["alpha_verdict"] == pytest.approx(132 / 270)  # see test_review.py for the computation
    assert result["disagreements"] == 3 and result["pairs"][0]["percent_agreement"] == pytest.approx(0.75)
    assert result["alpha_correctness"] is None  # no ratings: undefined, not a number


def test_source_excerpt_marks_the_evidence_and_escapes_html():
    text = "before <b>x</b> EVIDENCE after"
    start = text.index("EVIDENCE")
    shown = source_html(text, start, start + len("EVIDENCE"), drafts=["EVIDENCE"])
    assert "<mark>EVIDENCE</mark>" in shown and "&lt;b&gt;" in shown
    assert source_html(None, None, None) == "", "no source: no block (and no empty heading)"


def test_transcript_turns_one_per_line_with_speakers_and_only_the_grounding_turn_marked():
    turns = [{"speaker": "doctor", "role": "assistant", "text": "hi , brian ."},
             {"speaker": "patient", "role": "user", "text": "my chest hurts ."},
             {"speaker": "doctor", "role": "assistant", "text": "since when ?"}]
    text = "\n".join(t["text"] for t in turns)
    shown = source_html(text, 0, len(text), drafts=["since when ?"], turns=turns)
    assert shown.count('class="turn') == 3 and ">Doctor:<" in shown and ">Patient:<" in shown
    assert shown.count("<mark>") == 1 and "<mark>since when ?</mark>" in shown


def test_a_changed_text_is_an_edit_whatever_the_button():
    accepted_with_change = [review("accept", text="The dose is 5 mg.")]
    assert decide(accepted_with_change, "The dose is 50 mg.", 1, 0.9) == {
        "verdict": "edit", "source": "single", "final_response": "The dose is 5 mg.",
        "final_turns": ["The dose is 5 mg."], "n_reviews": 1}
    assert decide([review("edit", text="same")], "same", 1, 0.9)["verdict"] == "accept"


def test_pii_note_says_not_checked_without_a_scan():
    assert pii_note(None) == "not checked"
    assert pii_note([]) == "none found (scanned)"
    found = [{"message": 0, "role": "user", "type": "PERSON", "start": 3, "end": 8}]
    assert pii_note(found, [{"role": "user", "content": "hi brian"}]) == "PERSON: brian (in the prompt)"


CONVERSATION = [{"role": "system", "content": "You are a careful clinician."},
                {"role": "user", "content": "My chest hurts."}, {"role": "assistant", "content": "Since when?"},
                {"role": "user", "content": "Two days."}, {"role": "assistant", "content": "Any fever?"},
                {"role": "user", "content": "No."}, {"role": "assistant", "content": "Let us listen to your chest."}]


def test_every_trained_turn_gets_its_own_box_and_the_prompt_comes_first():
    from annotation.labeling import screen

    prompt, items = screen(CONVERSATION, {"assistant": "Doctor", "user": "Patient"})
    assert [i["message"] for i in items] == [2, 4, 6] and [i["draft"] for i in items] == [
        "Since when?", "Any fever?", "Let us listen to your chest."]
    assert "You are a careful clinician." in prompt and "My chest hurts." in prompt and "Since when?" not in prompt
    assert items[0]["context_html"] == "", "the first box follows the prompt"
    assert "Two days." in items[1]["context_html"] and "No." in items[2]["context_html"]
    assert "Doctor&#x27;s turn 2 of 3" in items[1]["head_html"] or "Doctor's turn 2 of 3" in items[1]["head_html"]


def test_an_edit_of_one_turn_changes_that_turn_alone():
    from annotation.outcomes import _with_turns, task_turns

    turns = [{"message": 2, "text": "Since when?"}, {"message": 4, "text": "Any fever?"},
             {"message": 6, "text": "Let us listen to your chest."}]
    answer = {"project_role": "review", "verdict": "accept", "edited_turns": [None, "Any fever or cough?", None]}
    outcome = decide([answer], [t["text"] for t in turns], 1, 0.9)
    assert outcome["verdict"] == "edit", "a changed box makes an accept an edit"
    assert outcome["final_turns"] == ["Since when?", "Any fever or cough?", "Let us listen to your chest."]
    new = _with_turns(CONVERSATION, task_turns({"turns": turns, "draft": ""}), outcome["final_turns"])
    assert [m["content"] for m in new] == [m["content"] for m in CONVERSATION[:4]] + [
        "Any fever or cough?"] + [m["content"] for m in CONVERSATION[5:]]
    legacy = _with_turns(CONVERSATION, task_turns({"turns": None, "draft": "x"}), ["Listen."])
    assert legacy[-1]["content"] == "Listen." and legacy[:-1] == CONVERSATION[:-1]


def test_a_skip_is_no_vote_and_reads_as_a_skip():
    from annotation.outcomes import outcome_of

    skip = {"project_role": "review", "verdict": None, "skipped": True}
    assert decide([skip], ["d"], 1, 0.9) is None
    assert outcome_of(skip, ["d"]) == "skip"
    assert outcome_of({"verdict": "edit", "edited_turns": ["d", None]}, ["d", "e"]) == "accept"


def test_turn_boxes_other_reason_and_skips_are_read_from_the_annotation():
    ann = {"id": 11, "task": 5, "completed_by": {"id": 3}, "result": [
        {"from_name": "turn_1", "value": {"text": ["second"]}}, {"from_name": "turn_0", "value": {"text": ["first"]}},
        {"from_name": "verdict", "value": {"choices": ["reject"]}}, {"from_name": "reasons", "value": {"choices": ["other"]}},
        {"from_name": "other_reason", "value": {"text": ["wrong patient"]}}]}
    parsed = parse_annotation(ann)
    assert parsed.edited_turns == ["first", "second"] and parsed.edited_response == "second"
    assert parsed.comment == "wrong patient" and not parsed.skipped
    skipped = parse_annotation({"id": 12, "task": 5, "completed_by": 3, "was_cancelled": True, "result": []})
    assert skipped.skipped and skipped.verdict is None
    for bad in ({"id": 13, "task": 5, "completed_by": {"id": True}}, {"id": 13, "task": 2.7},
                {"id": 13, "task": 5, "result": [{"from_name": "comment", "value": {"text": [{"x": 1}]}}]},
                {"id": 13, "task": 5, "result": [{"from_name": "turn_999999999", "value": {"text": ["x"]}}]}):
        with pytest.raises(InvalidAnnotation, match="annotation 13"):
            parse_annotation(bad)


def test_code_is_recognised_for_the_monospace_box():
    from annotation.labeling import looks_like_code

    assert looks_like_code("def f(x):\n    return x + 1\n")
    assert looks_like_code("```python\nprint(1)\n```")
    assert not looks_like_code("The patient reports chest pain.\nNo fever since Monday.")
