"""Calling any OpenAI-compatible endpoint, with a cache, a concurrency limit, a budget and typed results.

Retries are the official ``openai`` client's own (``max_retries``): it retries connection errors,
timeouts, 408/409/429 and 5xx with exponential backoff (0.5 s doubling to 8 s, minus up to 25 %
jitter) and, when the server sends ``Retry-After`` / ``retry-after-ms`` of at most 60 s, waits
exactly that long instead. Re-implementing that would only add a second, untested copy.

One request's failure never raises: every request comes back as a :class:`ChatResult`, either
``ok`` with its validated value or with a failure ``code`` and ``reason`` (``http_429``,
``timeout``, ``invalid_json``, ``schema_mismatch``, ``budget_exhausted``...). Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal

import duckdb
import openai
from pydantic import BaseModel

from ..config import Settings
from ..errors import InputError
from . import cache
from .parse import parse

ResponseFormat = Literal["json_object", "json_schema", "text"]


@dataclass(frozen=True)
class ChatRequest:
    key: str                        # the caller's id for this request (e.g. a chunk id)
    messages: list[dict]            # OpenAI chat form


@dataclass
class ChatResult:
    key: str
    ok: bool
    value: Any = None               # the validated model (or dict, or text when response_format="text")
    text: str | None = None         # the assistant message as returned
    code: str | None = None         # failure code when not ok
    reason: str | None = None
    cached: bool = False            # answered from llm_cache (or an identical request in this run)
    payload_hash: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None   # of the request that produced the response, cached or not
    response: dict | None = None    # the provider's raw completion, for provenance


@dataclass
class RunReport:
    run_id: int
    status: str                     # finished | budget_exhausted
    results: list[ChatResult]
    requests: int = 0               # sent to the provider (retries not counted)
    cache_hits: int = 0
    not_sent: int = 0               # stopped by the budget
    prompt_tokens: int = 0          # paid in this run (cache hits excluded)
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return sum(r.ok for r in self.results)


def _response_format(kind: ResponseFormat, schema: type[BaseModel] | None) -> dict | None:
    if kind == "text":
        return None
    if kind == "json_schema":
        if schema is None:
            raise InputError("response_format='json_schema' needs a schema (a pydantic model)")
        return {"type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False}}
    return {"type": "json_object"}


class _Run:
    """The state of one generation run: the client, the semaphore, the budget and the counters."""

    def __init__(self, conn, settings: Settings, params: dict, schema, kind: ResponseFormat, budget):
        self.conn, self.settings, self.params, self.schema, self.kind = conn, settings, params, schema, kind
        self.budget = budget
        self.spent = 0.0
        self.report = RunReport(run_id=0, status="running", results=[])
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self.inflight: dict[str, asyncio.Task] = {}
        self.hits: dict[str, dict] = {}
        self.writer = cache.CacheWriter(conn)
        self.client = openai.AsyncOpenAI(
            base_url=settings.openai_base_url, api_key=settings.openai_api_key.get_secret_value(),
            timeout=settings.request_timeout, max_retries=settings.max_retries)

    def key(self, request: ChatRequest) -> str:
        return cache.payload_hash(self.settings.model, request.messages, self.params)

    async def one(self, request: ChatRequest, key: str) -> ChatResult:
        hit = self.hits.get(key)
        if hit is not None:
            self.report.cache_hits += 1
            return self._result(request.key, key, hit["response"], hit["cost_usd"], cached=True)
        if key in self.inflight:  # the same payload twice in one run is sent once
            self.report.cache_hits += 1
            result = await asyncio.shield(self.inflight[key])
            return ChatResult(**{**result.__dict__, "key": request.key, "cached": True})
        task = asyncio.ensure_future(self._send(request, key))
        self.inflight[key] = task
        return await task

    async def _send(self, request: ChatRequest, key: str) -> ChatResult:
        async with self.semaphore:
            if self.budget is not None and self.spent >= self.budget:
                self.report.not_sent += 1
                return ChatResult(request.key, False, code="budget_exhausted", payload_hash=key,
                                  reason=f"not sent: spend reached the budget of ${self.budget:g}")
            self.report.requests += 1
            try:
                completion = await self.client.chat.completions.create(
                    model=self.settings.model, messages=request.messages, **self.params)
            except openai.APITimeoutError:
                return self._failure(request.key, key, "timeout",
                                     f"no answer within {self.settings.request_timeout:g}s "
                                     f"after {self.settings.max_retries} retries")
            except openai.APIStatusError as exc:
                return self._failure(request.key, key, f"http_{exc.status_code}", str(exc.message)[:300])
            except openai.APIConnectionError as exc:
                return self._failure(request.key, key, "connection", f"{type(exc).__name__}: {exc}"[:300])
            # spend is counted before the slot is released, so the next request sees it
            response = completion.model_dump(mode="json")
            usage = response.get("usage") or {}
            prompt, done = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
            cost = cache.cost_usd(self.settings.prices, self.settings.model, prompt, done)
            self.spent += cost or 0.0
        sent = {"model": self.settings.model, "messages": request.messages, "params": self.params}
        row = cache.cache_row(key, sent, response, prompt, done, cost, self.report.run_id)
        await asyncio.wrap_future(self.writer.submit(row))
        self.report.prompt_tokens += prompt
        self.report.completion_tokens += done
        self.report.cost_usd += cost or 0.0
        return self._result(request.key, key, response, cost, cached=False)

    def _failure(self, key: str, payload: str, code: str, reason: str) -> ChatResult:
        return ChatResult(key, False, code=code, reason=reason, payload_hash=payload)

    def _result(self, key: str, payload: str, response: dict, cost: float | None, cached: bool) -> ChatResult:
        usage = response.get("usage") or {}
        choice = (response.get("choices") or [{}])[0]
        text = (choice.get("message") or {}).get("content")
        base = dict(key=key, text=text, cached=cached, payload_hash=payload, response=response, cost_usd=cost,
                    prompt_tokens=usage.get("prompt_tokens") or 0,
                    completion_tokens=usage.get("completion_tokens") or 0)
        if choice.get("finish_reason") == "length":
            return ChatResult(ok=False, code="truncated", reason="the answer hit max_tokens", **base)
        if self.kind == "text":
            return ChatResult(ok=bool(text), value=text, code=None if text else "empty_response",
                              reason=None if text else "the model returned no content", **base)
        value, code, reason = parse(text, self.schema)
        return ChatResult(ok=code is None, value=value, code=code, reason=reason, **base)


CHECK_EVERY_S = 0.5  # how often a run reports progress (where a job's cancel is noticed)


def check_budget(settings: Settings, budget: float | None, messages: list[dict]) -> None:
    """Refuse, before anything is read, redacted or sent, a budget without a price or one that
    cannot pay for a single request like ``messages`` (its prompt, about 4 characters a token, and
    one token of answer): a budget of 5e-324 once let a judge run for eleven minutes."""
    if budget is None:
        return
    price = settings.prices.get(settings.model)
    if price is None:
        raise InputError(f"a budget needs a price for {settings.model!r}: add it to CURATOR_PRICES "
                         "as {\"input\": USD per 1M tokens, \"output\": ...}")
    chars = sum(len(m.get("content") or "") if isinstance(m.get("content"), str) else 0 for m in messages)
    least = cache.cost_usd(settings.prices, settings.model, max(1, chars // 4), 1) or 0.0
    if budget < least:
        raise InputError(f"the budget ${budget:g} cannot pay for one request (at least ${least:.2g} at "
                         f"{settings.model}'s price); raise --max-cost or CURATOR_MAX_COST_USD")


async def _watched(run: "_Run", requests: list[ChatRequest], keys: list[str],
                   progress: Callable[[int, int], None] | None) -> list[ChatResult]:
    """Every request, with ``progress(done, total)`` called every ``CHECK_EVERY_S``: when it raises
    (a job's cancel), the requests in flight are cancelled and the exception goes up."""
    finished = [0]

    async def counted(request: ChatRequest, key: str) -> ChatResult:
        result = await run.one(request, key)
        finished[0] += 1
        return result

    work = asyncio.ensure_future(asyncio.gather(*(counted(r, k) for r, k in zip(requests, keys))))
    try:
        while not (await asyncio.wait({work}, timeout=CHECK_EVERY_S))[0]:
            if progress is not None:
                progress(finished[0], len(requests))
    except BaseException:
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        raise
    return list(work.result())


async def agenerate(conn: duckdb.DuckDBPyConnection, requests: Iterable[ChatRequest], settings: Settings, *,
                    schema: type[BaseModel] | None = None, response_format: ResponseFormat = "json_object",
                    max_cost_usd: float | None = None, template_hash: str | None = None,
                    progress: Callable[[int, int], None] | None = None) -> RunReport:
    """Send every request (at most ``settings.concurrency`` at once), answering repeats from the cache,
    and record the run in ``generation_runs``. Results come back in the order of ``requests``.
    ``progress(done, total)`` is called every ``CHECK_EVERY_S``; an exception from it stops the run."""
    budget = max_cost_usd if max_cost_usd is not None else settings.max_cost_usd
    requests = list(requests)
    check_budget(settings, budget, min((r.messages for r in requests), key=lambda m: len(str(m)), default=[]))
    params = {"temperature": settings.temperature, "max_tokens": settings.max_tokens}
    fmt = _response_format(response_format, schema)
    if fmt is not None:
        params["response_format"] = fmt
    run = _Run(conn, settings, params, schema, response_format, budget)
    run.report.run_id = cache.start_run(conn, settings.openai_base_url, settings.model, template_hash,
                                        {**params, "max_cost_usd": budget, "concurrency": settings.concurrency,
                                         "max_retries": settings.max_retries, "timeout": settings.request_timeout})
    started, status = time.perf_counter(), "failed"
    report = run.report
    try:
        keys = [run.key(r) for r in requests]
        run.hits = cache.lookup_many(conn, sorted(set(keys)))
        async with run.client:
            report.results = await _watched(run, requests, keys, progress)
        status = "budget_exhausted" if report.not_sent else "finished"
    finally:
        run.writer.close()
        report.status = status
        report.seconds = time.perf_counter() - started
        for result in report.results:
            if not result.ok:
                report.failures[result.code] = report.failures.get(result.code, 0) + 1
        cache.finish_run(conn, report.run_id, status, requests=report.requests, cache_hits=report.cache_hits,
                         prompt_tokens=report.prompt_tokens, completion_tokens=report.completion_tokens,
                         cost_usd=report.cost_usd)
    return report


def generate(conn: duckdb.DuckDBPyConnection, requests: Iterable[ChatRequest], settings: Settings,
             **options: Any) -> RunReport:
    """The synchronous entry point (CLI, scripts): runs :func:`agenerate` in a fresh event loop."""
    return asyncio.run(agenerate(conn, requests, settings, **options))
