"""``curator candidates synthesize``: grounded examples from stored documents through a template.

Each document (kind ``document``) not yet done with the template is cut into chunks; the PII
policy (one :class:`Redactor` per document) decides what of each chunk may be sent; each chunk
gets ``n_per_chunk`` requests through :func:`curator.synth.client.generate`. An answer becomes a
``synthetic`` example only when its evidence quote (placeholders restored) is found in the
chunk, exactly or up to whitespace; its span is the quote's exact offsets in the document text.
Every other outcome (ungrounded, blocked by the PII policy, a failed request) is a row in
``generation_failures`` with its code and reason. Examples are idempotent by ``content_hash``;
a document whose requests were all answered is marked done, so a re-run sends nothing.

Approved examples of the same template are shown as few-shot seeds (through the same PII
policy); every stored example's messages are scanned for PII, findings kept on the example for
the reviewer; new examples then go through near-duplicate detection against all examples.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

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
from .client import ChatRequest, ChatResult, generate
from .pii import FLAG_THRESHOLD, Redactor, apply_policy, require_name_detector, scan
from .templates import Template, load_template
# codes after which a document stays pending: the request may succeed on a later run
RETRYABLE = ("budget_exhausted", "timeout", "connection", "http_")


@dataclass
class _Item:
    """What one request was for: the document, the chunk, its redactor, its PII findings and the
    chunk text as sent (redacted under ``redact``)."""
    document: dict
    chunk: Chunk
    k: int
    redactor: Redactor
    findings: list[dict]
    sent: str


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
    duplicates: int = 0             # exact: the same messages as a stored example
    near_duplicates: int = 0        # of the added examples, marked duplicates by the near-dup run
    outputs_with_pii: int = 0       # added examples whose messages hold PII findings
    seed_examples: list = field(default_factory=list)
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


def _seeds(conn: duckdb.DuckDBPyConnection, template: Template, settings: Settings) -> tuple[list[str], list[int]]:
    """Few-shot seeds: the first approved examples of this template (reviewers' edits included),
    each passed through the PII policy like any text that leaves; under ``block`` a seed with
    PII is left out."""
    if not template.spec.seeds:
        return [], []
    texts, ids = [], []
    for row in rows(conn, "synth.approved_seeds", {"template": template.name, "limit": template.spec.seeds}):
        rendered = "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in orjson.loads(row["messages"]))
        policy = apply_policy(rendered, settings.pii_policy, Redactor())
        if policy.text_to_send is not None:
            texts.append(policy.text_to_send)
            ids.append(row["id"])
    return texts, ids


def _prepare(documents: list[dict], template: Template, settings: Settings, n_per_chunk: int,
             chunk_tokens: int, seeds: list[str], report: SynthesizeReport):
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
                messages = template.messages(policy.text_to_send, k, n_per_chunk, seeds)
                requests.append(ChatRequest(key, messages))
                items[key] = _Item(doc, chunk, k, redactor, findings, policy.text_to_send)
                report.estimated_prompt_tokens += sum(math.ceil(len(m["content"]) / 4) for m in messages)
    report.requests = len(requests)
    price = settings.prices.get(settings.model)
    if price is not None:  # prompt tokens, plus every completion at its max_tokens: an upper bound
        report.estimated_cost_usd = (report.estimated_prompt_tokens * price["input"]
                                     + report.requests * settings.max_tokens * price["output"]) / 1e6
    return requests, items, blocked


def output_findings(messages: list[dict]) -> list[dict]:
    """PII in the stored example's messages (the model may add some, or echo restored values),
    positions per message, without the values themselves; at the flag operating point, since these
    findings flag examples for review and the ``pii`` quality rule (redaction uses the lower one)."""
    return [{"message": i, "role": m.get("role"), "type": f.entity_type, "start": f.start, "end": f.end,
             "score": f.score} for i, m in enumerate(messages)
            for f in scan(str(m.get("content") or ""), FLAG_THRESHOLD)]


def _example(item: _Item, value: BaseModel, quote: str, span: tuple[int, int], template: Template,
             run_id: int, restore: bool) -> dict:
    doc, chunk = item.document, item.chunk
    unredact = item.redactor.restore if restore else (lambda text: text)
    fields = type(value).model_validate({k: unredact(v) for k, v in value.model_dump().items()})
    context = chunk.text if restore else item.sent
    messages = template.example_messages(fields, context)
    canonical = orjson.dumps(messages, option=orjson.OPT_SORT_KEYS).decode()
    metadata = {"template": template.name, "template_hash": template.hash, "chunk_index": chunk.index,
                "request": item.k, "evidence_quote": quote, "pii": item.findings}
    return {"source_id": doc["source_id"], "file_id": doc["file_id"], "template": template.name,
            "origin": f"{doc['origin']}#synth:{template.name}:{chunk.index}:{item.k}",
            "messages": canonical, "content_hash": sha256_text(canonical), "document_id": doc["id"],
            "span_start": chunk.start + span[0], "span_end": chunk.start + span[1],
            "metadata": orjson.dumps(metadata).decode(), "run_id": run_id,
            "pii_findings": orjson.dumps(output_findings(messages)).decode()}


def synthesize(conn: duckdb.DuckDBPyConnection, settings: Settings, *, template: str = "qa", actor: str,
               limit: int | None = None, n_per_chunk: int = 1, chunk_tokens: int = 512,
               dry_run: bool = False, max_cost_usd: float | None = None, dedup: bool = True) -> SynthesizeReport:
    """Synthesise from the first ``limit`` pending documents; with ``dry_run`` only count and estimate."""
    if n_per_chunk < 1:
        raise InputError("--n-per-chunk must be at least 1")
    if limit is not None and limit < 0:
        raise InputError("--limit must be 0 or more")
    require_name_detector(settings.pii_policy)  # fail closed before anything is read or sent
    spec = load_template(template)
    report = SynthesizeReport(spec.name, spec.hash, dry_run=dry_run)
    documents = rows(conn, "synth.pending_documents", {"template_hash": spec.hash,
                                                       "limit": 2**62 if limit is None else limit})
    seeds, report.seed_examples = _seeds(conn, spec, settings) if documents else ([], [])
    requests, items, blocked = _prepare(documents, spec, settings, n_per_chunk, chunk_tokens, seeds, report)
    if dry_run:
        return report
    run = None
    if requests:
        run = generate(conn, requests, settings, schema=spec.schema, response_format="json_schema",
                       max_cost_usd=max_cost_usd, template_hash=spec.hash)
        report.run_id, report.cache_hits, report.cost_usd = run.run_id, run.cache_hits, run.cost_usd
        report.sent = run.requests
    with transaction(conn):
        store = _Store(conn, spec, settings, report)
        for doc, chunk, reason in blocked:
            store.fail(doc, chunk, "pii_blocked", reason)
        for result in run.results if run else []:
            store.result(items[result.key], result)
        report.examples_added = len(store.added)
        for doc in documents:
            if doc["id"] not in store.pending:
                conn.execute(query("synth.mark_done"), {"document_id": doc["id"], "template_hash": spec.hash,
                                                        "run_id": report.run_id})
        record_audit(conn, actor, "candidates.synthesize", spec.name,
                     report.summary() | {"options": {"limit": limit, "n_per_chunk": n_per_chunk,
                                                     "chunk_tokens": chunk_tokens, "max_cost_usd": max_cost_usd,
                                                     "pii_policy": settings.pii_policy}})
    if dedup and store.added:
        report.near_duplicates = near_duplicates_of(conn, store.added, actor)
    return report


class _Store:
    """Writes one run's outcomes inside the caller's transaction: an example for each grounded
    answer, a ``generation_failures`` row for anything else; remembers the examples added and
    the documents left pending (a retryable failure)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, spec: Template, settings: Settings,
                 report: SynthesizeReport):
        self.conn, self.spec, self.settings, self.report = conn, spec, settings, report
        self.pending: set[int] = set()
        self.added: list[int] = []

    def fail(self, doc: dict, chunk: Chunk, code: str, reason: str, payload: str | None = None) -> None:
        self.report.failures[code] += 1
        self.conn.execute(query("synth.insert_failure"), {
            "run_id": self.report.run_id, "document_id": doc["id"], "chunk_index": chunk.index,
            "template_hash": self.spec.hash, "code": code, "reason": reason, "payload_hash": payload})

    def result(self, item: _Item, result: ChatResult) -> None:
        """One answer: a failure, an ungrounded quote, a duplicate or a new example."""
        if not result.ok:
            self.fail(item.document, item.chunk, result.code, result.reason or result.code, result.payload_hash)
            if result.code.startswith(RETRYABLE):
                self.pending.add(item.document["id"])
            return
        quote = item.redactor.restore(self.spec.evidence(result.value))
        span = ground(quote, item.chunk.text)
        if span is None:
            self.fail(item.document, item.chunk, "ungrounded",
                      f"{self.spec.spec.grounding} not found in chunk {item.chunk.index}: {quote[:120]!r}",
                      result.payload_hash)
            return
        exact = item.chunk.text[span[0]:span[1]]
        row = _example(item, result.value, exact, span, self.spec, self.report.run_id, self.settings.pii_restore)
        found = self.conn.execute(query("synth.insert_example"), row).fetchall()
        if found:
            self.added.append(found[0][0])
            self.report.outputs_with_pii += row["pii_findings"] != "[]"
        else:
            self.report.duplicates += 1


def near_duplicates_of(conn: duckdb.DuckDBPyConnection, ids: list[int], actor: str) -> int:
    """Run near-duplicate detection over all examples (only new rows get signed) and count how
    many of ``ids`` were marked duplicates of another example, so they never reach review."""
    from ..dedup.params import DedupParams
    from ..dedup.run import run_dedup

    run_dedup(conn, "examples", DedupParams(), actor=actor)
    return rows(conn, "synth.count_duplicates_among", {"ids": ids})[0]["n"]
