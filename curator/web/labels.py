"""Reason codes in the words reviewers clicked, for the stewards' pages.

The store keeps the stable snake_case codes (annotation/labeling.py ``REASON_LABELS`` maps each to
its button); a steward reads the button's words, so a rejection reads as the reviewer meant it.
"""

from __future__ import annotations

from annotation.labeling import REASON_LABELS


def reason_label(code: str) -> str:
    """The button's short name ("Factually wrong"); a code no button has (an older labeling
    config's) as words."""
    label = REASON_LABELS.get(code)
    return label.split(":", 1)[0] if label else code.replace("_", " ")


def reason_title(code: str) -> str:
    """The button's whole text, for the tooltip; the code itself when no button has it."""
    return REASON_LABELS.get(code, code)
