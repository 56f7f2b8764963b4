"""`curator review status` on an 80-column terminal: every queue state is named in full."""

from __future__ import annotations

from rich.console import Console

from curator.cli import review

QUEUE = {"candidates": 3, "pushed": 9, "awaiting_review": 4, "awaiting_adjudication": 1, "approved": 3,
         "rejected": 1, "adjudicated": 0, "review_events": 12}


def test_queue_states_are_not_cut_at_80_columns(monkeypatch):
    console = Console(width=80, record=True, color_system=None)
    monkeypatch.setattr(review, "out", console)
    review._render_status({"queue": QUEUE, "throughput": [], "agreement": {
        "units": 0, "alpha_verdict": None, "alpha_correctness": None, "alpha_style": None,
        "mean_response_similarity": None, "disagreements": 0, "pairs": []}, "rejection_reasons": {}})
    text = console.export_text()
    assert "awaiting review" in text and "awaiting adjudication" in text and "…" not in text
