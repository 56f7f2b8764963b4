"""``curator candidates synthesize``: grounded question-answer examples from stored documents.

Each document (kind ``document``) not yet done with the template is cut into chunks; the PII
policy (one :class:`Redactor` per document) decides what of each chunk may be sent; each chunk
gets ``n_per_chunk`` requests through :func:`curator.synth.client.generate`. An answer becomes a
``synthetic`` example only when its ``evidence_quote`` (placeholders restored) is found in the
chunk, exactly or up to whitespace; its span is the quote's exact offsets in the document text.
Every other outcome (ungrounded, blocked by the PII policy, a failed request) is a row in
``generation_failures`` with its code and reason. Examples are idempotent by ``content_hash``;
a document whose requests were all answered is marked done, so a re-run sends nothing.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson
from pydantic import BaseModel

from ..audit import record_audit
from ..candidates.chunking import Chunk, chunk_text
from ..config import Settings
from ..errors import InputError
from ..normalize import sha256_text
from ..store import rows, transaction
from ..sqlfiles import query
from .client import ChatRequest, generate
from .pii import Redactor, apply_policy

TEMPLATES_DIR = Path(__file__).parent / "templates"
# codes after which a document stays pending: the request may succeed on a later run
RETRYABLE = ("budget_exhausted", "timeout", "connection", "http_")


class QA(BaseModel):
    question: str
    answer: str
    evidence_quote: str


@dataclass(frozen=True)
class Template:
    name: str
    hash: str                       # sha256 of the template file's bytes
    system: str
    instruction: str
    variant: str

    def messages(self, chunk: str, k: int, n: int) -> list[dict]:
        variant = self.variant.format(k=k + 1, n=n) if n > 1 else ""
        user = self.instruction.replace("{variant}", variant).replace("{chunk}", chunk)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def load_template(name: str) -> Template:
    path = TEMPLATES_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in TEMPLATES_DIR.glob("*.json")))
        raise InputError(f"unknown template {name!r}; choose one of {known}")
    raw = path.read_bytes()
    spec = orjson.loads(raw)
    if spec.get("fields") != list(QA.model_fields):
        raise InputError(f"template {name!r} must declare fields {list(QA.model_fields)}")
    return Template(name, hashlib.sha256(raw).hexdigest(), spec["system"], spec["instruction"],
                    spec.get("variant", ""))


@dataclass
class _Item:
    """What one request was for: the document, the chunk, its redactor and its PII findings."""
    document: dict
    chunk: Chunk
    k: int
    redactor: Redactor
    findings: list[dict]


@dataclass
class SynthesizeReport:
    template: str
    template_hash: str
    dry_run: bool = False
    documents: int = 0
    chunks: int = 0
    requests: int = 0                # prepared; sent = requests - cache hits - not sent
    estimated_prompt_tokens: int = 0
    estimated_cost_usd: float | None = None
    run_id: int | None = None
    sent: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0
    examples_added: int = 0
    duplicates: int = 0
    failures: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        return {k: (dict(sorted(v.items())) if isinstance(v, Counter) else v) for k, v in self.__dict__.items()}


def ground(quote: str, chunk: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``chunk``: exact, else with any run of whitespace matching any other."""
    quote = quote.strip()
    if not quote:
        return None
    at = chunk.find(quote)
    if at >= 0:
        return at, at + len(quote)
    m = re.search(r"\s+".join(map(re.escape, quote.split())), chunk)
    return (m.start(), m.end()) if m else None


def _prepare(documents: list[dict], template: Template, settings: Settings, n_per_chunk: int,
             chunk_tokens: int, report: SynthesizeReport):
    requests: list[ChatRequest] = []
    items: dict[str, _Item] = {}
    blocked: list[tuple[dict, Chunk, str]] = []
    for doc in documents:
        report.documents += 1
        redactor = Redactor()
        for chunk in chunk_text(doc["text"], max_tokens=chunk_tokens, overlap_tokens=chunk_tokens // 8):
            report.chunks += 1
            policy = apply_policy(chunk.text, settings.pii_policy, redactor)
            findings = [{"type": f.entity_type, "start": chunk.start + f.start, "end": chunk.start + f.end,
                         "score": f.score} for f in policy.findings]
            if policy.text_to_send is None:
                blocked.append((doc, chunk, policy.blocked_reason))
                continue
            for k in range(n_per_chunk):
                key = f"{doc['id']}:{chunk.index}:{k}"
                messages = template.messages(policy.text_to_send, k, n_per_chunk)
                requests.append(ChatRequest(key, messages))
                items[key] = _Item(doc, chunk, k, redactor, findings)
                report.estimated_prompt_tokens += sum(math.ceil(len(m["content"]) / 4) for m in messages)
    report.requests = len(requests)
    price = settings.prices.get(settings.model)
    if price is not None:  # prompt tokens, plus every completion at its max_tokens: an upper bound
        report.estimated_cost_usd = (report.estimated_prompt_tokens * price["input"]
                                     + report.requests * settings.max_tokens * price["output"]) / 1e6
    return requests, items, blocked


def _example(item: _Item, qa: QA, quote: str, span: tuple[int, int], template: Template, run_id: int) -> dict:
    doc, chunk = item.document, item.chunk
    messages = [{"role": "user", "content": item.redactor.restore(qa.question)},
                {"role": "assistant", "content": item.redactor.restore(qa.answer)}]
    canonical = orjson.dumps(messages, option=orjson.OPT_SORT_KEYS).decode()
    metadata = {"template": template.name, "template_hash": template.hash, "chunk_index": chunk.index,
                "request": item.k, "evidence_quote": quote, "pii": item.findings}
    return {"source_id": doc["source_id"], "file_id": doc["file_id"], "template": template.name,
            "origin": f"{doc['origin']}#synth:{template.name}:{chunk.index}:{item.k}",
            "messages": canonical, "content_hash": sha256_text(canonical), "document_id": doc["id"],
            "span_start": chunk.start + span[0], "span_end": chunk.start + span[1],
            "metadata": orjson.dumps(metadata).decode(), "run_id": run_id}


def synthesize(conn: duckdb.DuckDBPyConnection, settings: Settings, *, template: str = "qa", actor: str,
               limit: int | None = None, n_per_chunk: int = 1, chunk_tokens: int = 512,
               dry_run: bool = False, max_cost_usd: float | None = None) -> SynthesizeReport:
    """Synthesise from the first ``limit`` pending documents; with ``dry_run`` only count and estimate."""
    if n_per_chunk < 1:
        raise InputError("--n-per-chunk must be at least 1")
    if limit is not None and limit < 0:
        raise InputError("--limit must be 0 or more")
    spec = load_template(template)
    report = SynthesizeReport(spec.name, spec.hash, dry_run=dry_run)
    documents = rows(conn, "synth.pending_documents", {"template_hash": spec.hash,
                                                       "limit": 2**62 if limit is None else limit})
    requests, items, blocked = _prepare(documents, spec, settings, n_per_chunk, chunk_tokens, report)
    if dry_run:
        return report
    run = None
    if requests:
        run = generate(conn, requests, settings, schema=QA, response_format="json_schema",
                       max_cost_usd=max_cost_usd, template_hash=spec.hash)
        report.run_id, report.cache_hits, report.cost_usd = run.run_id, run.cache_hits, run.cost_usd
        report.sent = run.requests
    pending: set[int] = set()
    with transaction(conn):
        def fail(doc: dict, chunk: Chunk, code: str, reason: str, payload: str | None = None) -> None:
            report.failures[code] += 1
            conn.execute(query("synth.insert_failure"), {
                "run_id": report.run_id, "document_id": doc["id"], "chunk_index": chunk.index,
                "template_hash": spec.hash, "code": code, "reason": reason, "payload_hash": payload})

        for doc, chunk, reason in blocked:
            fail(doc, chunk, "pii_blocked", reason)
        for result in run.results if run else []:
            item = items[result.key]
            if not result.ok:
                fail(item.document, item.chunk, result.code, result.reason or result.code, result.payload_hash)
                if result.code.startswith(RETRYABLE):
                    pending.add(item.document["id"])
                continue
            quote = item.redactor.restore(result.value.evidence_quote)
            span = ground(quote, item.chunk.text)
            if span is None:
                fail(item.document, item.chunk, "ungrounded",
                     f"evidence_quote not found in chunk {item.chunk.index}: {quote[:120]!r}", result.payload_hash)
                continue
            exact = item.chunk.text[span[0]:span[1]]
            conn.execute(query("synth.insert_example"), _example(item, result.value, exact, span, spec, report.run_id))
            added = conn.fetchone()[0]
            report.examples_added += added
            report.duplicates += 1 - added
        for doc in documents:
            if doc["id"] not in pending:
                conn.execute(query("synth.mark_done"), {"document_id": doc["id"], "template_hash": spec.hash,
                                                        "run_id": report.run_id})
        record_audit(conn, actor, "candidates.synthesize", spec.name,
                     report.summary() | {"options": {"limit": limit, "n_per_chunk": n_per_chunk,
                                                     "chunk_tokens": chunk_tokens, "max_cost_usd": max_cost_usd,
                                                     "pii_policy": settings.pii_policy}})
    return report
