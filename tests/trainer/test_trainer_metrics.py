"""The test-split metrics against values worked out by hand (no torch needed)."""

from __future__ import annotations

import pytest

from trainer.metrics import exact_match, mean_scores, rouge_l, score, token_f1


def test_exact_match_normalises_case_punctuation_and_spaces():
    assert exact_match("Refund.", "refund") == 1.0
    assert exact_match("  the   refund team ", "The refund team") == 1.0
    assert exact_match("refund team", "refund") == 0.0


def test_token_f1_and_rouge_l_by_hand():
    # prediction 4 tokens, reference 3, overlap {the, cat} = 2: P 1/2, R 2/3, F1 4/7
    assert token_f1("the cat sat down", "the cat ran") == pytest.approx(4 / 7)
    # LCS("a b c d e", "a c e") = 3: P 3/5, R 1, F1 0.75
    assert rouge_l("a b c d e", "a c e") == pytest.approx(0.75)
    # order matters for ROUGE-L, not for token F1
    assert token_f1("b a", "a b") == 1.0 and rouge_l("b a", "a b") == pytest.approx(0.5)
    assert token_f1("", "") == rouge_l("", "") == 1.0 and token_f1("x", "") == rouge_l("", "x") == 0.0


def test_mean_scores():
    rows = [score("refund", "refund"), score("order", "refund")]
    assert mean_scores(rows) == {"exact_match": 0.5, "token_f1": 0.5, "rouge_l": 0.5}
    assert mean_scores([]) == {}
