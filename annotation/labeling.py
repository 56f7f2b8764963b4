"""The labeling interface domain experts see, and the task data that fills it.

The screen shows the example as the trainer will see it, top to bottom: the prompt the model is
given (system and user messages, read-only), then every turn the trainer learns from in its own
editable box, in order, with the context turns between them read-only (a Label Studio
``<Repeater>`` over the task's ``turns``: Community has no editable chat view, and its ``<Chat>``
tag cannot edit turns that came with the task). Beside it, the source the example was cut from
with the turns under review (or the evidence) highlighted. Then a verdict, reason codes when
rejecting (a comment is required for "Other"), two 1-5 ratings and a comment. The adjudication
project shows the same plus every reviewer's answer.
"""

from __future__ import annotations

import hashlib
import html
import re

from curator.errors import InputError
from curator.versions.reviewed import trained_turns

REASONS = ("factually_wrong", "unsafe", "off_policy", "pii", "ungrammatical", "duplicate", "other")
VERDICTS = ("accept", "edit", "reject")
# Task data fields holding markup for the screen; hidden from Label Studio's task list columns.
HTML_FIELDS = ("meta_html", "source_html", "prompt_html", "notes_html", "pii_html", "reviews_html", "turns",
               "update_hint_html")
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
                  "edit": "Accept with my edits (the text in the boxes above)",
                  "reject": "Reject: must not be used for training"}
UPDATE_HINT = ('<div class="cur-update-hint">Changing an answer you already submitted? Click outside the box you '
               'changed (or press Shift+Enter in it): Update turns blue once the box has your new text.</div>')
TURN_FIELD = re.compile(r"^turn_(\d+)$")  # the editable boxes the Repeater names turn_0, turn_1, ...

# Label Studio offers no attribute for these, and a <Style> block is its documented way to
# restyle the labeling screen:
# - its region/relations side panel and the "Compare All" / "+" annotation tabs (our controls
#   label the whole task, one answer per reviewer) go;
# - the boxes are ``transcription`` boxes, so a submitted answer comes back in open boxes (not
#   read-only text behind a hover-only pencil and a hidden ✓). Label Studio takes a box's new text
#   when the box loses focus, and keeps Update grey until then: while Update is grey a line says
#   so (a style on the page's own Update button, the one signal a <Style> block can read);
# - boxes grow with their text (``field-sizing``), and a box whose turn is code is monospace,
#   unwrapped and keeps its indentation (marked by a .cur-code element in its heading).
_STYLE = """
    .lsf-tabs-panel:has(.lsf-outliner), .lsf-tabs-panel:has(.lsf-info), .lsf-tabs-panel_alignment_right,
    [data-testid="compare-all-toggle"], button[aria-label="Create an annotation"] { display: none !important; }
    .cur-grid { display: flex; gap: 24px; align-items: flex-start; }
    .cur-left { flex: 1 1 45%; min-width: 0; position: sticky; top: 0; }
    .cur-left:not(:has(.cur-src)) { display: none; }
    .cur-right { flex: 1 1 55%; min-width: 0; }
    .cur-scroll { max-height: 460px; overflow-y: auto; border: 1px solid #d0d7de; border-radius: 6px;
                  padding: 8px 12px; background: #fafbfc; }
    .cur-src, .cur-ctx { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
                         font-size: 14px; line-height: 1.5; }
    .cur-src .turn, .cur-ctx .turn { margin: 0 0 4px 0; white-space: pre-wrap; }
    .cur-src .who, .cur-ctx .who { font-weight: 600; color: #1f4e79; margin-right: 6px; }
    .cur-src mark { background: #ffe066; padding: 1px 0; }
    .cur-src .grounding { background: #fff3bf; border-left: 4px solid #f08c00; padding-left: 6px; }
    .cur-ctx pre, .cur-src pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
    .cur-ctx pre { background: #f6f8fa; padding: 8px; border-radius: 6px; white-space: pre; overflow-x: auto; }
    .cur-ctx.cur-between { margin-top: 10px; }
    .cur-turn-head { font-weight: 600; margin: 10px 0 4px 0; color: #0b5394; }
    .cur-response textarea { font-size: 14px; line-height: 1.5; white-space: pre-wrap; background: #ffffff;
                             border: 2px solid #1c7ed6; field-sizing: content; min-height: 4.5em;
                             max-height: 70vh; overflow-y: auto; }
    .cur-response:has(.cur-code) textarea, .cur-response:has(.cur-code) [data-testid="htx-textbox-content"] {
        font-family: ui-monospace, "DejaVu Sans Mono", monospace !important; font-size: 13px; white-space: pre;
        overflow-x: auto; tab-size: 4; }
    .cur-response [data-testid="htx-textbox-delete-button"] { display: none !important; }
    .cur-response [data-testid="htx-textbox-input"] { font-size: 14px; line-height: 1.5; border: 2px solid #1c7ed6;
                                                      field-sizing: content; max-height: 70vh; }
    .cur-update-hint { display: none; color: #9a3412; font-size: 13px; margin: 6px 0; }
    body:has([data-testid="bottombar-update-button"]:disabled) .cur-update-hint { display: block; }
    .cur-meta { color: #57606a; font-size: 13px; margin-bottom: 8px; }
    .cur-notes, .cur-pii { font-size: 13px; }
    .cur-notes p { margin: 4px 0; }
"""


def labeling_config(adjudication: bool = False) -> str:
    """Label Studio XML: the source on the left (scrolling, only when the example has one that is
    not already in its prompt); on the right the example top to bottom (prompt, then each trained
    turn in an editable box with the context between), the verdict, reasons, ratings, notes."""
    reasons = "\n".join(f'        <Choice value="{REASON_LABELS[r]}" alias="{r}"/>' for r in REASONS)
    verdicts = "\n".join(f'        <Choice value="{VERDICT_LABELS[v]}" alias="{v}"/>' for v in VERDICTS)
    reviews = ('      <Header value="What the reviewers said" size="5"/>\n'
               '      <HyperText name="reviews" value="$reviews_html" inline="true"/>\n') if adjudication else ""
    return f"""<View>
  <Style>{_STYLE}  </Style>
  <View className="cur-grid">
    <View className="cur-left">
      <HyperText name="source" value="$source_html" inline="true"/>
    </View>
    <View className="cur-right">
      <HyperText name="meta" value="$meta_html" inline="true"/>
{reviews}      <HyperText name="prompt" value="$prompt_html" inline="true"/>
      <Repeater on="$turns" indexFlag="{{{{idx}}}}">
        <View className="cur-response">
          <HyperText name="between_{{{{idx}}}}" value="$turns[{{{{idx}}}}].context_html" inline="true"/>
          <HyperText name="head_{{{{idx}}}}" value="$turns[{{{{idx}}}}].head_html" inline="true"/>
          <TextArea name="turn_{{{{idx}}}}" toName="prompt" value="$turns[{{{{idx}}}}].draft" editable="true" transcription="true"
                    rows="3" maxSubmissions="1" showSubmitButton="false" required="true"
                    requiredMessage="A response box is empty: restore or write the response"/>
        </View>
      </Repeater>
      <HyperText name="update_hint" value="$update_hint_html" inline="true"/>
      <Header value="Verdict (covers every box above)" size="5"/>
      <Choices name="verdict" toName="prompt" choice="single-radio" required="true"
               requiredMessage="Choose a verdict: accept, accept with your edits, or reject">
{verdicts}
      </Choices>
      <View visibleWhen="choice-selected" whenTagName="verdict" whenChoiceValue="{VERDICT_LABELS['reject']}">
        <Header value="Why reject? (at least one reason)" size="5"/>
        <Choices name="reasons" toName="prompt" choice="multiple" required="true"
                 requiredMessage="Give at least one reason for rejecting">
{reasons}
        </Choices>
        <View visibleWhen="choice-selected" whenTagName="reasons" whenChoiceValue="{REASON_LABELS['other']}">
          <Header value="What is wrong? (required for Other)" size="6"/>
          <TextArea name="other_reason" toName="prompt" rows="2" maxSubmissions="1" showSubmitButton="false"
                    required="true" requiredMessage="You chose Other: say what is wrong in the box under it"/>
        </View>
      </View>
      <Header value="Correctness (1-5)" size="6"/>
      <Rating name="correctness" toName="prompt" maxRating="5"/>
      <Header value="Style (1-5)" size="6"/>
      <Rating name="style" toName="prompt" maxRating="5"/>
      <Header value="Comment (optional)" size="6"/>
      <TextArea name="comment" toName="prompt" rows="2" maxSubmissions="1" showSubmitButton="false"
                placeholder="Anything the next reviewer or the data steward should know"/>
      <HyperText name="notes" value="$notes_html" inline="true"/>
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


def grounding_spans(text: str, start: int | None, end: int | None, drafts: list[str]) -> list[tuple[int, int]]:
    """The parts of the source the example stands on: where each turn under review (or its first
    line) occurs inside the example's span, else the span itself (a synthesised example's
    evidence). Highlighting the whole span of a conversation would mark its context turns too."""
    if start is None or end is None or not (0 <= start <= end <= len(text)):
        return []
    found, cursor = [], start
    for draft in drafts:
        for needle in (draft.strip(), draft.strip().splitlines()[0].strip() if draft.strip() else ""):
            if len(needle) >= 3:
                at = text.find(needle, cursor, end)
                if at >= 0:
                    found.append((at, at + len(needle)))
                    cursor = at + len(needle)
                    break
    return found or [(start, end)]


def _marked(text: str, lo: int, hi: int, spans: list[tuple[int, int]]) -> str:
    """``text[lo:hi]`` escaped, the parts inside ``spans`` in ``<mark>``."""
    out, cursor = [], lo
    for a, b in sorted(spans):
        a, b = max(cursor, a), min(hi, b)
        if a >= b:
            continue
        out.append(f"{_esc(text[cursor:a])}<mark>{_esc(text[a:b])}</mark>")
        cursor = b
    out.append(_esc(text[cursor:hi]))
    return "".join(out)


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


def source_html(text: str | None, start: int | None, end: int | None, drafts: list[str] | str = (),
                turns: list[dict] | None = None, margin: int = 700) -> str:
    """The source block, or "" when the example has none (imported examples: no empty heading).
    A transcript is one turn per line with its speaker's own label; the turns under review are
    highlighted; the block scrolls (long sources never push the boxes off screen) and starts
    ``margin`` characters before the first highlight, so it sits in the first screenful."""
    if not text:
        return ""
    drafts = [drafts] if isinstance(drafts, str) else list(drafts)
    spans = grounding_spans(text, start, end, drafts)
    first, last = (spans[0][0], spans[-1][1]) if spans else (0, 0)
    lo, hi = max(0, first - margin), min(len(text), max(last, first) + margin // 3)
    if turns:
        head = ('<h4 style="margin:0 0 6px 0">Source transcript (the turns under review are highlighted; '
                'the example itself is beside it)</h4>')
        lines = []
        for turn, (a, b) in zip(turns, _turn_offsets(text, turns)):
            if a < 0 or b < lo or a > hi:
                continue
            who = turn.get("speaker") or turn.get("role") or "?"
            grounding = any(a < y and b > x for x, y in spans)
            lines.append(f'<p class="turn{" grounding" if grounding else ""}"><span class="who">'
                         f'{_esc(str(who).capitalize())}:</span>{_marked(text, a, b, spans)}</p>')
        body = "".join(lines)
        return (f'<div class="cur-src">{head}<div class="cur-scroll" id="cur-source">'
                f'{"<p>…</p>" if lo else ""}{body}{"<p>…</p>" if hi < len(text) else ""}</div></div>')
    head = ('<h4 style="margin:0 0 6px 0">Source document (the passage the response stands on is '
            'highlighted)</h4>')
    body = _marked(text, lo, hi, spans)
    return (f'<div class="cur-src">{head}<div class="cur-scroll" id="cur-source">'
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


_CODE_LINE = re.compile(r"^(?: {2,}|\t)\S|[;{}]\s*$|^\s*(?:def|class|import|from|return|if|for|while|function|const"
                        r"|let|var|public|private|#include|SELECT|CREATE)\b")


def looks_like_code(text: str) -> bool:
    """A turn to edit in a monospace box: fenced code, or several lines indented or ending like
    code. Wrong either way costs little: prose in monospace is still readable."""
    if "```" in text:
        return True
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) >= 2 and sum(bool(_CODE_LINE.search(line)) for line in lines) >= max(2, len(lines) // 3)


def text_of(content) -> str:
    """A message's text: a string, or OpenAI's list of content parts (their text parts joined);
    "" for none (an assistant message that only calls a tool)."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def _rows_html(messages: list[dict], labels: dict[str, str]) -> str:
    return "".join(f'<div class="turn"><span class="who">{_esc(labels.get(m["role"], str(m["role"]).capitalize()))}:'
                   f'</span>{_content_html(text_of(m.get("content")))}</div>' for m in messages)


def _labels(speakers: dict[str, str] | None) -> dict[str, str]:
    return {"system": "System (instruction)", "user": "User", "assistant": "Assistant", "tool": "Tool"} | (speakers or {})


def screen(messages: list[dict], speakers: dict[str, str] | None = None) -> tuple[str, list[dict]]:
    """(the prompt block, one Repeater item per trained turn). The prompt is every message before
    the first trained turn, shown whole: it is what the model is given. Each item carries the
    read-only context since the previous trained turn, a heading naming the turn, and its text."""
    trained = trained_turns(messages)
    if not trained:
        raise InputError("example has no assistant message to review")
    labels = _labels(speakers)
    prompt = messages[:trained[0]]
    prompt_html = (f'<div class="cur-ctx"><h4 style="margin:0 0 6px 0">What the model is given (read-only)</h4>'
                   f'<div class="cur-scroll" id="cur-prompt">{_rows_html(prompt, labels)}</div></div>'
                   if prompt else '<div class="cur-ctx"><p>The model is given no prompt before its first turn.</p></div>')
    items, previous = [], trained[0]
    for n, i in enumerate(trained, 1):
        between = messages[previous + 1:i] if n > 1 else []
        previous = i
        who = labels.get("assistant", "Assistant")
        what = "Response" if len(trained) == 1 else f"{who}'s turn {n} of {len(trained)}"
        draft = text_of(messages[i].get("content"))
        code = '<span class="cur-code" title="code: indentation kept"></span>' if looks_like_code(draft) else ""
        items.append({
            "message": i, "draft": draft,
            "context_html": f'<div class="cur-ctx cur-between">{_rows_html(between, labels)}</div>' if between else "",
            "head_html": (f'<div class="cur-turn-head" id="cur-head-{n}">{_esc(what)} (trained: correct it directly '
                          f'in this box){code}</div>')})
    return prompt_html, items


def notes_html(quality: str | None, judge: str | None) -> str:
    """Quality flags and the judge's suggestion, only when there is something to say."""
    parts = []
    if quality:
        parts.append(f"<p><b>Quality flags</b> (pushed although a filter flagged it): {_esc(quality)}</p>")
    if judge:
        parts.append(f"<p><b>Model judge</b> (a suggestion to overrule: your verdict is yours): {_esc(judge)}</p>")
    return f'<div class="cur-notes">{"".join(parts)}</div>' if parts else ""


def speakers_of(turns: list[dict] | None) -> dict[str, str]:
    """{role: speaker label} from a transcript's turns (the first speaker seen for each role)."""
    found: dict[str, str] = {}
    for turn in turns or []:
        if turn.get("role") and turn.get("speaker"):
            found.setdefault(turn["role"], str(turn["speaker"]).capitalize())
    return found


def quality_note(flags: list[dict] | None) -> str:
    """The quality filters' flags as one line a reviewer reads (curator/quality/); "" when none."""
    return "; ".join(f"{f['rule']}: {f['reason']}" for f in flags or [])


def judge_note(j: dict | None) -> str:
    """The model judge's scores and rationale as text (curator/judge/): shown beside the draft and
    never as a prediction of the verdict, so it is not pre-selected as the reviewer's answer."""
    if not j:
        return ""
    return (f"{j['verdict']} (p(accept) {j['score']:.2f}; correctness {j['correctness']}/5, style {j['style']}/5) "
            f"by {j['model']} with {j['template_name']}: {j['rationale']}")


def _where(finding: dict, messages: list[dict] | None) -> str:
    """"in the prompt" or "in the response" (which turn, when there are several)."""
    i = finding.get("message")
    if not isinstance(i, int) or messages is None or not 0 <= i < len(messages):
        return ""
    trained = trained_turns(messages)
    if i not in trained:
        return " (in the prompt)"
    return " (in the response)" if len(trained) == 1 else f" (in the response, turn {trained.index(i) + 1})"


def pii_note(findings, messages: list[dict] | None = None) -> str:
    """What the PII scan found and where: "not checked" when no scan ran (findings NULL), "none
    found" only after a scan that found nothing."""
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
            parts.append((f"{kind}: {text}" if text else str(kind)) + _where(f, messages))
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
            f"<li><b>{html.escape(r['reviewer'])}</b>: {html.escape(r.get('outcome') or r['verdict'] or '-')}"
            f" (reasons {html.escape(reasons)}; correctness {r.get('rating_correctness') or '-'},"
            f" style {r.get('rating_style') or '-'})"
            + "".join(f"<br/>edited turn {n}: <pre>{html.escape(text)}</pre>" for n, text in r.get("changed_turns") or [])
            + (f"<br/>comment: {html.escape(r['comment'])}" if r.get("comment") else "") + "</li>")
    return "<ul>" + "".join(rows) + "</ul>"
