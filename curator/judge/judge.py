"""``curator triage judge``: an OpenAI-compatible model scores each candidate the filters kept on
the review rubric. The request goes through synthesis' client (cache: a re-run never pays twice;
cost per run in ``generation_runs``; the budget) after the PII policy, exactly as synthesis text
leaves: ``block`` sends nothing for an example with PII, ``redact`` sends placeholders."""

from __future__ import annotations

from typing import Callable, Literal

import duckdb
import orjson
from pydantic import BaseModel, Field

from ..audit import record_audit
from ..config import Settings
from ..errors import InputError
from ..sqlfiles import query
from ..store import rows, transaction
from ..synth.client import ChatRequest, check_budget, generate
from ..synth.pii import Redactor, apply_policy, require_name_detector
from .template import load_judge_template

SOURCE_MARGIN = 1500  # characters of the source document either side of the evidence span


class JudgeScore(BaseModel):
    """What the judge must return; a response that does not fit is a recorded failure, not a score."""

    correctness: int = Field(ge=1, le=5)
    style: int = Field(ge=1, le=5)
    verdict: Literal["accept", "edit", "reject"]
    accept_probability: float = Field(ge=0, le=1)
    rationale: str = Field(max_length=2000)


class JudgeReport(BaseModel):
    """What one judge run did: its lineage (template, hash, model), counts, cost and failures."""

    template: str
    template_hash: str
    model: str
    examples: int = Field(0, description="unjudged candidates the filters kept, up to --limit")
    judged: int = Field(0, description="judgements stored")
    blocked_pii: int = Field(0, description="not sent: the PII policy blocked a part of the example")
    failures: dict[str, int] = Field(default_factory=dict, description="failed requests by code")
    run_id: int | None = Field(None, description="the generation run that carries cost and requests")
    cache_hits: int = 0
    cost_usd: float = 0.0
    status: str = "finished"

    def summary(self) -> dict:
        return self.model_dump()


def _texts(row: dict) -> tuple[str, str, str]:
    """(source excerpt, instruction, response) of one example, as the reviewer sees them."""
    messages = orjson.loads(row["messages"])
    response = messages[-1]["content"] if messages and messages[-1]["role"] == "assistant" else ""
    prompt = "\n\n".join(m["content"] for m in messages[:-1] if m["role"] != "system")
    doc, start, end = row.get("document_text"), row.get("span_start"), row.get("span_end")
    source = doc[max(0, start - SOURCE_MARGIN):end + SOURCE_MARGIN] if doc and start is not None and end else ""
    return source, prompt, response


def judge(conn: duckdb.DuckDBPyConnection, settings: Settings, *, template: str | None, actor: str,
          limit: int | None = None, max_cost_usd: float | None = None,
          progress: Callable[[int, int, str], None] = lambda done, total, stage: None) -> JudgeReport:
    """Judge up to ``limit`` unjudged candidates (kept by the filters, not duplicates).
    ``progress(done, total, stage)`` is called for every example redacted and every half second of
    sending: a job's cancel raises there, so it is honoured within a second at any point."""
    if limit is not None and limit < 0:
        raise InputError("--limit must be 0 or more")
    require_name_detector(settings.pii_policy)  # fail closed before anything is read or sent
    spec = load_judge_template(template)
    check_budget(settings, max_cost_usd if max_cost_usd is not None else settings.max_cost_usd,
                 spec.messages("", "", ""))  # before any example is read or redacted
    report = JudgeReport(template=spec.name, template_hash=spec.hash, model=settings.model)
    pending = rows(conn, "judge.pending", {"model": settings.model, "template_hash": spec.hash,
                                           "limit": 2**62 if limit is None else limit})
    report.examples = len(pending)
    requests = []
    for done, row in enumerate(pending):
        progress(done, len(pending), "redact")
        redactor = Redactor()  # one per example: a value keeps its placeholder across the three parts
        parts = [apply_policy(text, settings.pii_policy, redactor) for text in _texts(row)]
        if any(p.text_to_send is None for p in parts):
            report.blocked_pii += 1
            continue
        requests.append(ChatRequest(str(row["id"]), spec.messages(*(p.text_to_send for p in parts))))
    if not requests:
        return report
    run = generate(conn, requests, settings, schema=JudgeScore, response_format="json_object",
                   max_cost_usd=max_cost_usd, template_hash=f"judge:{spec.hash}",
                   progress=lambda done, total: progress(done, total, "judge"))
    report.run_id, report.cache_hits, report.cost_usd, report.status = run.run_id, run.cache_hits, run.cost_usd, run.status
    with transaction(conn):
        for result in run.results:
            if not result.ok:
                report.failures[result.code] = report.failures.get(result.code, 0) + 1
                continue
            v: JudgeScore = result.value
            conn.execute(query("judge.insert"), {
                "example_id": int(result.key), "model": settings.model, "template_name": spec.name,
                "template_hash": spec.hash, "run_id": run.run_id, "correctness": v.correctness, "style": v.style,
                "verdict": v.verdict, "score": v.accept_probability, "rationale": v.rationale,
                "payload_hash": result.payload_hash})
            report.judged += 1
        record_audit(conn, actor, "triage.judge", f"generation-run:{run.run_id}",
                     {"template": spec.name, "template_hash": spec.hash, "model": settings.model,
                      "judged": report.judged, "failures": report.failures, "cost_usd": report.cost_usd})
    return report
