"""The labeling interface domain experts see, and the task data that fills it.

A reviewer reads the source excerpt the example came from (the evidence span highlighted),
the instruction and its context, and the model's draft pre-filled in an editable box through a
prediction; answers with a verdict, reason codes when rejecting, two 1-5 ratings and a comment.
The adjudication project shows the same plus every reviewer's answer.
"""

from __future__ import annotations

import hashlib
import html

REASONS = ("factually_wrong", "unsafe", "off_policy", "pii", "ungrammatical", "duplicate", "other")
VERDICTS = ("accept", "edit", "reject")
_REASON_HINTS = {
    "factually_wrong": "contradicts the source or is simply wrong",
    "unsafe": "could harm a patient or client",
    "off_policy": "outside what the assistant may say",
    "pii": "exposes personal data",
    "ungrammatical": "hard to read",
    "duplicate": "same as another example",
    "other": "explain in the comment",
}
_VERDICT_HINTS = {"accept": "the draft is right as it is",
                  "edit": "right after my edits in the box above",
                  "reject": "must not be used"}


def labeling_config(adjudication: bool = False) -> str:
    """Label Studio XML; every control points at the ``source`` object."""
    reasons = "\n".join(f'      <Choice value="{r}" hint="{_REASON_HINTS[r]}"/>' for r in REASONS)
    verdicts = "\n".join(f'      <Choice value="{v}" hint="{_VERDICT_HINTS[v]}"/>' for v in VERDICTS)
    reviews = ('  <Header value="What the reviewers said"/>\n'
               '  <HyperText name="reviews" value="$reviews_html"/>\n') if adjudication else ""
    return f"""<View>
  <Header value="Source excerpt (the evidence is highlighted)"/>
  <HyperText name="source" value="$source_html"/>
  <Header value="Instruction and context"/>
  <Text name="context" value="$context"/>
  <Header value="Personal data found by the PII check"/>
  <Text name="pii" value="$pii"/>
  <Header value="Quality flags (pushed although a filter flagged it)"/>
  <Text name="quality" value="$quality"/>
  <Header value="Model judge (a suggestion to overrule: your verdict is yours)"/>
  <Text name="judge" value="$judge"/>
{reviews}  <Header value="Response (edit it if needed)"/>
  <TextArea name="response" toName="source" editable="true" rows="8" maxSubmissions="1"/>
  <Header value="Verdict"/>
  <Choices name="verdict" toName="source" choice="single-radio" required="true">
{verdicts}
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="verdict" whenChoiceValue="reject">
    <Header value="Why reject?"/>
    <Choices name="reasons" toName="source" choice="multiple">
{reasons}
    </Choices>
  </View>
  <Header value="Correctness (1-5)"/>
  <Rating name="correctness" toName="source" maxRating="5"/>
  <Header value="Style (1-5)"/>
  <Rating name="style" toName="source" maxRating="5"/>
  <Header value="Comment"/>
  <TextArea name="comment" toName="source" rows="2" maxSubmissions="1"/>
</View>"""


def config_hash(config: str) -> str:
    return hashlib.sha256(config.encode()).hexdigest()


def source_html(text: str | None, start: int | None, end: int | None, margin: int = 600) -> str:
    """The excerpt around the evidence span, escaped, the span in ``<mark>``."""
    if not text:
        return "<p><em>no source document (imported example)</em></p>"
    if start is None or end is None or not (0 <= start <= end <= len(text)):
        return f"<p>{html.escape(text[: 2 * margin])}{'…' if len(text) > 2 * margin else ''}</p>"
    lo, hi = max(0, start - margin), min(len(text), end + margin)
    before, span, after = text[lo:start], text[start:end], text[end:hi]
    return (f"<p>{'…' if lo else ''}{html.escape(before)}"
            f"<mark style=\"background:#ffe066\">{html.escape(span)}</mark>"
            f"{html.escape(after)}{'…' if hi < len(text) else ''}</p>")


def split_messages(messages: list[dict]) -> tuple[str, str]:
    """(context shown to the reviewer, the draft = the last assistant message)."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        raise ValueError("example has no assistant message to review")
    context = "\n\n".join(f"{m['role'].upper()}: {m['content']}" for m in messages[:last])
    return context, messages[last]["content"]


def quality_note(flags: list[dict] | None) -> str:
    """The quality filters' flags as one line a reviewer reads (curator/quality/)."""
    if not flags:
        return "none"
    return "; ".join(f"{f['rule']}: {f['reason']}" for f in flags)


def judge_note(j: dict | None) -> str:
    """The model judge's scores and rationale as text (curator/judge/): shown beside the draft and
    never as a prediction of the verdict, so it is not pre-selected as the reviewer's answer."""
    if not j:
        return "not judged"
    return (f"{j['verdict']} (p(accept) {j['score']:.2f}; correctness {j['correctness']}/5, style {j['style']}/5) "
            f"by {j['model']} with {j['template_name']}: {j['rationale']}")


def pii_note(findings) -> str:
    if not findings:
        return "none found"
    items = findings if isinstance(findings, list) else [findings]
    parts = []
    for f in items:
        if isinstance(f, dict):
            kind = f.get("entity_type") or f.get("type") or f.get("kind") or "PII"
            text = f.get("text") or f.get("value")
            parts.append(f"{kind}: {text}" if text else str(kind))
        else:
            parts.append(str(f))
    return "; ".join(parts)


def draft_prediction(draft: str, model_version: str = "draft") -> dict:
    """The draft pre-filled in the response box (a prediction, so it is not a human answer)."""
    return {"model_version": model_version, "score": 0.0,
            "result": [{"from_name": "response", "to_name": "source", "type": "textarea",
                        "value": {"text": [draft]}}]}


def reviews_html(reviews: list[dict]) -> str:
    rows = []
    for r in reviews:
        reasons = ", ".join(r.get("reasons") or []) or "-"
        rows.append(
            f"<li><b>{html.escape(r['reviewer'])}</b>: {html.escape(r['verdict'] or '-')}"
            f" (reasons {html.escape(reasons)}; correctness {r.get('rating_correctness') or '-'},"
            f" style {r.get('rating_style') or '-'})"
            + (f"<br/>edited: <pre>{html.escape(r['edited_response'])}</pre>"
               if r.get("verdict") == "edit" and r.get("edited_response") else "")
            + (f"<br/>comment: {html.escape(r['comment'])}" if r.get("comment") else "") + "</li>")
    return "<ul>" + "".join(rows) + "</ul>"
