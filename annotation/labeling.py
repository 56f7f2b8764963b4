"""The labeling interface domain experts see, and the task data that fills it.

A reviewer reads the source excerpt the example came from (the evidence span highlighted),
the instruction and its context, and the model's draft pre-filled in an editable box through a
prediction; answers with a verdict, reason codes when rejecting, two 1-5 ratings and a comment.
The adjudication project shows the same plus every reviewer's answer.
"""

from __future__ import annotations

import hashlib
import html

from curator.errors import InputError

REASONS = ("factually_wrong", "unsafe", "off_policy", "pii", "ungrammatical", "duplicate", "other")
VERDICTS = ("accept", "edit", "reject")
# Task data fields holding markup for the screen; hidden from Label Studio's task list columns.
HTML_FIELDS = ("meta_html", "source_html", "context_html", "pii_html", "reviews_html")
# What the reviewer reads on the button; the annotation stores the code (Choice ``alias``), so the
# store and every report keep the stable snake_case codes while nobody has to decode them on screen.
REASON_LABELS = {
    "factually_wrong": "Factually wrong: contradicts the source or is simply wrong",
    "unsafe": "Unsafe: could harm a patient or client",
    "off_policy": "Off policy: outside what the assistant may say",
    "pii": "Personal data: exposes a person's details",
    "ungrammatical": "Hard to read: garbled, ungrammatical or a fragment",
    "duplicate": "Duplicate: same as another example",
    "other": "Other: explain in the comment",
}
VERDICT_LABELS = {"accept": "Accept: the response is right as it is",
                  "edit": "Accept with my edits (the text in the box above)",
                  "reject": "Reject: must not be used for training"}

# Label Studio offers no attribute to hide its region/relations side panel (our controls label
# the whole task, so it is always empty), nor to keep a submitted answer's text in an open box:
# on update it shows the text read-only with a hover-only pencil beside a delete button. A
# <Style> block is its documented way to restyle the labeling screen: the panel goes, the delete
# button goes (a response is required anyway), the pencil is always shown and says what it does.
_STYLE = """
    .lsf-tabs-panel:has(.lsf-outliner) { display: none !important; }
    .cur-grid { display: flex; gap: 24px; align-items: flex-start; }
    .cur-left { flex: 1 1 52%; min-width: 0; }
    .cur-right { flex: 1 1 48%; min-width: 0; position: sticky; top: 0; }
    .cur-scroll { max-height: 460px; overflow-y: auto; border: 1px solid #d0d7de; border-radius: 6px;
                  padding: 8px 12px; background: #fafbfc; }
    .cur-src, .cur-ctx { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
                         font-size: 14px; line-height: 1.5; }
    .cur-src .turn, .cur-ctx .turn { margin: 0 0 4px 0; white-space: pre-wrap; }
    .cur-src .who, .cur-ctx .who { font-weight: 600; color: #1f4e79; margin-right: 6px; }
    .cur-src mark { background: #ffe066; padding: 1px 0; }
    .cur-src .grounding { background: #fff3bf; border-left: 4px solid #f08c00; padding-left: 6px; }
    .cur-ctx pre, .cur-src pre, .cur-right textarea { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
    .cur-ctx pre { background: #f6f8fa; padding: 8px; border-radius: 6px; white-space: pre; overflow-x: auto; }
    .cur-right .cur-response textarea { font-size: 14px; line-height: 1.5; white-space: pre-wrap;
                                       background: #ffffff; border: 2px solid #1c7ed6; }
    .cur-response [data-testid="htx-textbox-delete-button"] { display: none !important; }
    .cur-response .lsf-textarea__region { display: block !important; }
    .cur-response .lsf-textarea__actions { opacity: 1 !important; visibility: visible !important;
                                           position: static !important; margin-top: 6px; }
    .cur-response [data-testid="htx-textbox-edit-button"]::after { content: "Edit the text"; padding: 0 8px 0 0; }
    .cur-response [data-testid="htx-textbox-content"] { border: 2px solid #1c7ed6; white-space: pre-wrap; }
    .cur-meta { color: #57606a; font-size: 13px; margin-bottom: 8px; }
    .cur-pii { font-size: 13px; }
"""


def labeling_config(adjudication: bool = False) -> str:
    """Label Studio XML: the source and conversation on the left (scrolling), what is under review
    (the draft in an editable box), the verdict, reasons and ratings on the right."""
    reasons = "\n".join(f'        <Choice value="{REASON_LABELS[r]}" alias="{r}"/>' for r in REASONS)
    verdicts = "\n".join(f'        <Choice value="{VERDICT_LABELS[v]}" alias="{v}"/>' for v in VERDICTS)
    reviews = ('      <Header value="What the reviewers said" size="5"/>\n'
               '      <HyperText name="reviews" value="$reviews_html" inline="true"/>\n') if adjudication else ""
    return f"""<View>
  <Style>{_STYLE}  </Style>
  <View className="cur-grid">
    <View className="cur-left">
      <HyperText name="meta" value="$meta_html" inline="true"/>
      <HyperText name="source" value="$source_html" inline="true"/>
      <HyperText name="context" value="$context_html" inline="true"/>
      <Header value="Quality flags (pushed although a filter flagged it)" size="6"/>
      <Text name="quality" value="$quality"/>
      <Header value="Model judge (a suggestion to overrule: your verdict is yours)" size="6"/>
      <Text name="judge" value="$judge"/>
    </View>
    <View className="cur-right">
{reviews}      <Header value="Response under review: correct it directly in this box" size="4"/>
      <View className="cur-response">
        <TextArea name="response" toName="source" value="$draft" editable="true" rows="10"
                  maxSubmissions="1" showSubmitButton="false" required="true"
                  requiredMessage="The response box is empty: restore or write the response"/>
      </View>
      <Header value="Verdict" size="5"/>
      <Choices name="verdict" toName="source" choice="single-radio" required="true"
               requiredMessage="Choose a verdict: accept, accept with your edits, or reject">
{verdicts}
      </Choices>
      <View visibleWhen="choice-selected" whenTagName="verdict" whenChoiceValue="{VERDICT_LABELS['reject']}">
        <Header value="Why reject? (at least one reason)" size="5"/>
        <Choices name="reasons" toName="source" choice="multiple" required="true"
                 requiredMessage="Give at least one reason for rejecting">
{reasons}
        </Choices>
      </View>
      <Header value="Correctness (1-5)" size="6"/>
      <Rating name="correctness" toName="source" maxRating="5"/>
      <Header value="Style (1-5)" size="6"/>
      <Rating name="style" toName="source" maxRating="5"/>
      <Header value="Comment (optional)" size="6"/>
      <TextArea name="comment" toName="source" rows="2" maxSubmissions="1" showSubmitButton="false"
                placeholder="Anything the next reviewer or the data steward should know"/>
      <Header value="Personal data check" size="6"/>
      <HyperText name="pii" value="$pii_html" inline="true"/>
    </View>
  </View>
</View>"""


def config_hash(config: str) -> str:
    return hashlib.sha256(config.encode()).hexdigest()


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def meta_html(kind: str, source: str, example_id: int, doc_kind: str | None) -> str:
    what = {"transcript": "transcript", "document": "document"}.get(doc_kind or "", "no source document")
    return (f'<div class="cur-meta">Example {example_id} · {_esc(kind)} · {what} · '
            f'{_esc(source)}</div>')


def grounding_span(text: str, start: int | None, end: int | None, draft: str) -> tuple[int, int] | None:
    """The part of the source the response stands on: where the draft (or its first line) occurs
    inside the example's span, else the span itself. Highlighting the whole span of a
    conversation example would mark nearly all of it, which points at nothing."""
    if start is None or end is None or not (0 <= start <= end <= len(text)):
        return None
    for needle in (draft.strip(), draft.strip().splitlines()[0].strip() if draft.strip() else ""):
        if len(needle) >= 3:
            at = text.rfind(needle, start, end)
            if at >= 0:
                return at, at + len(needle)
    return start, end


def _marked(text: str, lo: int, hi: int, span: tuple[int, int] | None) -> str:
    """``text[lo:hi]`` escaped, the part inside ``span`` in ``<mark>``."""
    if span is None or span[1] <= lo or span[0] >= hi:
        return _esc(text[lo:hi])
    a, b = max(lo, span[0]), min(hi, span[1])
    return f"{_esc(text[lo:a])}<mark>{_esc(text[a:b])}</mark>{_esc(text[b:hi])}"


def _turn_offsets(text: str, turns: list[dict]) -> list[tuple[int, int]]:
    """Where each turn's text sits in the document text (searched in order; -1 when absent)."""
    found, cursor = [], 0
    for turn in turns:
        body = turn.get("text") or ""
        at = text.find(body, cursor) if body else -1
        found.append((at, at + len(body)) if at >= 0 else (-1, -1))
        if at >= 0:
            cursor = at + len(body)
    return found


def source_html(text: str | None, start: int | None, end: int | None, draft: str = "",
                turns: list[dict] | None = None, margin: int = 700) -> str:
    """The source block, or "" when the example has none (imported examples: no empty heading).
    A transcript is one turn per line with its speaker's own label; the grounding turn is
    highlighted; the block scrolls (long sources never push the response off screen) and starts
    ``margin`` characters before the highlight, so the highlight sits in its first screenful."""
    if not text:
        return ""
    span = grounding_span(text, start, end, draft)
    focus = span or (0, 0)
    lo, hi = max(0, focus[0] - margin), min(len(text), focus[1] + margin // 3)
    head = '<h4 style="margin:0 0 6px 0">Source {what} (the part the response stands on is highlighted)</h4>'
    if turns:
        lines = []
        for turn, (a, b) in zip(turns, _turn_offsets(text, turns)):
            if a < 0 or b < lo or a > hi:
                continue
            who = turn.get("speaker") or turn.get("role") or "?"
            grounding = span is not None and a < span[1] and b > span[0]
            lines.append(f'<p class="turn{" grounding" if grounding else ""}"><span class="who">'
                         f'{_esc(str(who).capitalize())}:</span>{_marked(text, a, b, span)}</p>')
        body = "".join(lines)
        return (f'<div class="cur-src">{head.format(what="transcript")}<div class="cur-scroll" id="cur-source">'
                f'{"<p>…</p>" if lo else ""}{body}{"<p>…</p>" if hi < len(text) else ""}</div></div>')
    body = _marked(text, lo, hi, span)
    return (f'<div class="cur-src">{head.format(what="document")}<div class="cur-scroll" id="cur-source">'
            f'<div class="turn">{"…" if lo else ""}{body}{"…" if hi < len(text) else ""}</div></div></div>')


def _content_html(text: str) -> str:
    """Message text with fenced code (```) in a monospace block that keeps its indentation."""
    parts = text.split("```")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            lines = part.split("\n", 1)
            code = lines[1] if len(lines) > 1 and lines[0].strip().isidentifier() else part
            out.append(f"<pre>{_esc(code.strip(chr(10)))}</pre>")
        elif part:
            out.append(f'<span style="white-space:pre-wrap">{_esc(part)}</span>')
    return "".join(out)


# The turns recipe (curator/candidates/recipes.py) recaps the prior turns in a system message; the
# transcript block already shows them one per line, so it is not shown twice.
RECAP = "Conversation so far:"


def context_html(messages: list[dict], speakers: dict[str, str] | None = None, from_transcript: bool = False) -> str:
    """What the model was given before the response, with the speakers' own labels. For an
    example cut from a transcript these turns are already in the source block, so only the
    instruction (a system message) is repeated."""
    shown = [m for m in messages if not from_transcript
             or (m["role"] == "system" and not m["content"].startswith(RECAP))]
    if not shown:
        return ('<div class="cur-ctx"><p style="margin:8px 0;color:#57606a">The turns above the highlighted '
                'one are what the model was given.</p></div>') if from_transcript else ""
    labels = {"system": "Instruction", "user": "User", "assistant": "Assistant"} | (speakers or {})
    rows = "".join(f'<div class="turn"><span class="who">{_esc(labels.get(m["role"], m["role"]))}:</span>'
                   f'{_content_html(m["content"])}</div>' for m in shown)
    head = "Instruction" if from_transcript else "Instruction and conversation before the response"
    return (f'<div class="cur-ctx"><h4 style="margin:12px 0 6px 0">{head}</h4>'
            f'<div class="cur-scroll">{rows}</div></div>')


def speakers_of(turns: list[dict] | None) -> dict[str, str]:
    """{role: speaker label} from a transcript's turns (the first speaker seen for each role)."""
    found: dict[str, str] = {}
    for turn in turns or []:
        if turn.get("role") and turn.get("speaker"):
            found.setdefault(turn["role"], str(turn["speaker"]).capitalize())
    return found


def split_messages(messages: list[dict]) -> tuple[list[dict], str]:
    """(messages before the response, the draft = the last assistant message)."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        raise InputError("example has no assistant message to review")
    return messages[:last], messages[last]["content"]


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


def pii_note(findings, messages: list[dict] | None = None) -> str:
    """What the PII scan found: "not checked" when no scan ran (findings NULL), "none found"
    only after a scan that found nothing."""
    if findings is None:
        return "not checked"
    items = findings if isinstance(findings, list) else [findings]
    if not items:
        return "none found (scanned)"
    parts = []
    for f in items:
        if isinstance(f, dict):
            kind = f.get("entity_type") or f.get("type") or f.get("kind") or "PII"
            text = f.get("text") or f.get("value")
            if text is None and messages is not None and f.get("message") is not None and f.get("start") is not None:
                i = f["message"]
                if 0 <= i < len(messages):
                    text = messages[i]["content"][f["start"]:f["end"]]
            parts.append(f"{kind}: {text}" if text else str(kind))
        else:
            parts.append(str(f))
    return "; ".join(dict.fromkeys(parts))


def pii_html(note: str) -> str:
    return f'<div class="cur-pii">{_esc(note)}</div>'


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
