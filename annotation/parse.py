"""One Label Studio annotation (from a webhook or the export) read into a review row.

Both ways in go through here, so a webhook and a pull of the same annotation produce the same
``payload_hash`` and the second is recognised as nothing new."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from curator.errors import InputError

from .labeling import REASONS, TURN_FIELD, VERDICTS


@dataclass
class Review:
    ls_annotation_id: int
    ls_task_id: int
    ls_user_id: int | None
    verdict: str | None
    edited_response: str | None
    rating_correctness: int | None
    rating_style: int | None
    reasons: list[str] = field(default_factory=list)
    comment: str | None = None
    edited_turns: list[str | None] | None = None   # one text per editable box, in order (None: box not sent)
    skipped: bool = False
    lead_time: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    payload_hash: str = ""


def _when(value) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _id(value, name: str) -> int | None:
    """An id as Label Studio sends it: an integer (or its decimal string). A bool, a fraction or an
    object is refused: ``True`` once stalled the webhook inbox, ``2.7`` was recorded as task 2."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise InvalidAnnotation(f"{name} {value!r} is not an integer id")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InvalidAnnotation(f"{name} {value!r} is not an integer id")


def _user_id(value) -> int | None:
    return _id(value.get("id") if isinstance(value, dict) else value, "completed_by")


def _text(value: dict) -> str:
    text = value.get("text") or []
    parts = text if isinstance(text, list) else [text]
    if not all(isinstance(t, str) for t in parts):
        raise InvalidAnnotation(f"a text result holds {type(next(t for t in parts if not isinstance(t, str))).__name__}, "
                                "not text")
    return "\n".join(parts)


class InvalidAnnotation(InputError):
    """An annotation this labeling config cannot have produced (unknown verdict or reason, missing
    ids, wrong types): reported with its id, never half-recorded."""


def parse_annotation(ann: dict, task_id: int | None = None) -> Review:
    """Read the controls of our labeling config; anything malformed is :class:`InvalidAnnotation`."""
    try:
        return _parse(ann, task_id)
    except InvalidAnnotation as exc:
        where = ann.get("id") if isinstance(ann, dict) else None
        if str(exc).startswith("annotation "):
            raise
        raise InvalidAnnotation(f"annotation {where}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        where = ann.get("id") if isinstance(ann, dict) else None
        raise InvalidAnnotation(f"annotation {where}: malformed ({type(exc).__name__}: {exc})") from None


def _parse(ann: dict, task_id: int | None) -> Review:
    result = ann.get("result") or []
    found: dict = {}
    turns: dict[int, str] = {}
    for item in result:
        name, value = item.get("from_name"), item.get("value") or {}
        if isinstance(name, str) and (box := TURN_FIELD.match(name)):
            if int(box.group(1)) >= MAX_BOXES:  # the list is built up to the highest index sent
                raise InvalidAnnotation(f"{name}: no task shows more than {MAX_BOXES} boxes")
            turns[int(box.group(1))] = _text(value)
        elif name == "other_reason":
            found["other"] = _text(value).strip() or None
        elif name == "verdict":
            found["verdict"] = (value.get("choices") or [None])[0]
        elif name == "reasons":
            found["reasons"] = sorted(value.get("choices") or [])
        elif name in ("correctness", "style"):
            found[name] = int(value["rating"]) if value.get("rating") is not None else None
        elif name == "response":
            found["response"] = _text(value)
        elif name == "comment":
            found["comment"] = _text(value) or None
    verdict = found.get("verdict")
    if verdict is not None and verdict not in VERDICTS:
        raise InvalidAnnotation(f"annotation {ann.get('id')}: verdict {verdict!r} is not one of {VERDICTS}")
    bad = [r for r in found.get("reasons", []) if r not in REASONS]
    if bad:
        raise InvalidAnnotation(f"annotation {ann.get('id')}: reason codes {bad} are not among {REASONS}")
    task = ann.get("task")
    edited_turns = [turns.get(i) for i in range(max(turns) + 1)] if turns else None
    skipped = bool(ann.get("was_cancelled"))
    comment = "\n\n".join(c for c in (found.get("other"), found.get("comment")) if c) or None
    review = Review(
        ls_annotation_id=_id(ann["id"], "id"),
        ls_task_id=_id(task_id if task_id is not None else (task["id"] if isinstance(task, dict) else task), "task"),
        ls_user_id=_user_id(ann.get("completed_by")),
        verdict=None if skipped else verdict,
        edited_response=edited_turns[-1] if edited_turns else found.get("response"),
        rating_correctness=found.get("correctness"), rating_style=found.get("style"),
        reasons=found.get("reasons", []), comment=comment, edited_turns=edited_turns, skipped=skipped,
        lead_time=float(ann["lead_time"]) if ann.get("lead_time") is not None else None,
        created_at=_when(ann.get("created_at")), updated_at=_when(ann.get("updated_at")))
    if review.ls_annotation_id is None or review.ls_task_id is None:
        raise InvalidAnnotation("an annotation needs its id and its task's id")
    _check_ranges(review)
    review.payload_hash = payload_hash(review)
    return review


MAX_ID = 2**63 - 1  # the store keeps Label Studio's ids as BIGINT
MAX_BOXES = 10_000  # editable boxes a task may have (one per assistant message)


def _check_ranges(review: Review) -> None:
    """What the store's constraints would refuse later, refused here with the field's name: a
    delivery past these checks is one the runner can apply (a 2^70 id or a rating of 9 once
    became a 500 or a misleading 409)."""
    for name in ("ls_annotation_id", "ls_task_id", "ls_user_id"):
        value = getattr(review, name)
        if value is not None and not 0 <= value <= MAX_ID:
            raise InvalidAnnotation(f"annotation {review.ls_annotation_id}: {name} {value} is out of range "
                                    f"(0..{MAX_ID})")
    for name in ("rating_correctness", "rating_style"):
        value = getattr(review, name)
        if value is not None and not 1 <= value <= 5:
            raise InvalidAnnotation(f"annotation {review.ls_annotation_id}: {name} {value} is not between 1 and 5")


def payload_hash(review: Review) -> str:
    """What the reviewer said (not when it was seen): same answer, same hash."""
    body = {"verdict": review.verdict, "response": review.edited_response, "reasons": review.reasons,
            "correctness": review.rating_correctness, "style": review.rating_style,
            "comment": review.comment, "user": review.ls_user_id, "task": review.ls_task_id}
    if review.edited_turns is not None or review.skipped:  # hashes of one-box answers stay as they were
        body |= {"turns": review.edited_turns, "skipped": review.skipped}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def edit_diff(draft: str, edited: str | None) -> str | None:
    """A unified diff of the model's draft against the reviewer's text; None when unchanged."""
    if edited is None or edited == draft:
        return None
    return "".join(difflib.unified_diff(draft.splitlines(keepends=True), edited.splitlines(keepends=True),
                                        fromfile="draft", tofile="reviewed"))
