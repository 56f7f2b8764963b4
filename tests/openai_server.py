"""A local OpenAI-compatible server: the project's one stand-in for the paid provider.

A real HTTP app (Starlette, served by uvicorn on 127.0.0.1 in a background thread) speaking
``POST /v1/chat/completions``, ``POST /v1/embeddings`` and ``GET /v1/models``. Answers come from a script the test gives
(``respond(body) -> content``); faults are injected per request by a substring of the last user
message: 429 with ``Retry-After``, 500, a delay past the client's timeout, malformed JSON content.
Every request body is recorded with its arrival time, and the most requests ever in flight at once.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FaultKind = Literal["rate_limit", "server_error", "delay", "malformed"]


@dataclass
class Fault:
    kind: FaultKind
    retry_after: float = 1.0        # rate_limit: the Retry-After header, seconds
    delay: float = 2.0              # delay: seconds before answering (set it past the client timeout)


@dataclass
class Received:
    body: dict
    at: float                       # time.monotonic() on arrival
    status: int = 0                 # what was answered (0 until answered)

    @property
    def last_user(self) -> str:
        return last_user_message(self.body)


def last_user_message(body: dict) -> str:
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


def tokens(text: str) -> int:
    """A tokenizer-free estimate close to tiktoken on English (about 4 characters a token)."""
    return max(1, math.ceil(len(text) / 4))


def default_respond(body: dict) -> str:
    return json.dumps({"answer": f"echo: {last_user_message(body)[:200]}"})


def judged_answers(text: str) -> tuple[str, str]:
    """Answers A and B of a judge request (``curator.judge.pairwise.render``'s markers)."""
    a = text.split("### Answer A\n", 1)[1].split("\n### Answer B\n", 1)
    return a[0], a[1].rsplit("\n### End", 1)[0]


def judge_prefers_longer(body: dict) -> str:
    """A judge with a known rule: the longer answer wins; equal lengths → "A", a pure position bias
    (so only asking in both orders tells it from a preference)."""
    a, b = judged_answers(last_user_message(body))
    return json.dumps({"winner": "A" if len(a) >= len(b) else "B"})


def hashed_embedding(text: str, dim: int = 64) -> list[float]:
    """A deterministic bag-of-words embedding: the sum of one seeded random direction per lower-cased
    word, normalised. Texts sharing most words are close; no model is needed."""
    import hashlib
    import re

    import numpy as np

    total = np.zeros(dim)
    for word in re.findall(r"\w+", text.lower()):
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        total += np.random.default_rng(seed).standard_normal(dim)
    norm = np.linalg.norm(total)
    return (total / norm if norm else total).tolist()


@dataclass
class OpenAIServer:
    respond: Callable[[dict], str] = default_respond
    embed: Callable[[str], list[float]] = hashed_embedding  # POST /v1/embeddings: text → vector
    embedding_requests: list[dict] = field(default_factory=list)  # their bodies, apart from chat ``requests``
    latency: float = 0.0            # seconds every answer waits, like a provider's latency
    requests: list[Received] = field(default_factory=list)
    max_in_flight: int = 0
    _faults: list[tuple[str, Fault, list[int]]] = field(default_factory=list)
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fault(self, match: str, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests whose last user message contains ``match`` with ``fault``."""
        with self._lock:
            self._faults.append((match, fault, [times]))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.max_in_flight = 0

    def _take_fault(self, text: str) -> Fault | None:
        with self._lock:
            for match, fault, left in self._faults:
                if left[0] > 0 and match in text:
                    left[0] -= 1
                    return fault
        return None

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        seen = Received(body, time.monotonic())
        with self._lock:
            self.requests.append(seen)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            response = await self._answer(body)
        finally:
            with self._lock:
                self._in_flight -= 1
        seen.status = response.status_code
        return response

    async def _answer(self, body: dict) -> JSONResponse:
        fault = self._take_fault(last_user_message(body))
        if fault and fault.kind == "rate_limit":
            return JSONResponse({"error": {"message": "Rate limit reached", "type": "requests",
                                           "code": "rate_limit_exceeded"}},
                                status_code=429, headers={"Retry-After": f"{fault.retry_after:g}"})
        if fault and fault.kind == "server_error":
            return JSONResponse({"error": {"message": "The server had an error", "type": "server_error"}},
                                status_code=500)
        if fault and fault.kind == "delay":
            await asyncio.sleep(fault.delay)
        elif self.latency:
            await asyncio.sleep(self.latency)
        content = self.respond(body)
        if fault and fault.kind == "malformed":
            content = content[: max(1, len(content) // 2)]  # cut mid-object: not valid JSON
        prompt = sum(tokens(m.get("content") or "") + 4 for m in body.get("messages", [])) + 3
        completion = tokens(content)
        return JSONResponse({
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "unknown"),
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content, "refusal": None}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        })

    async def _embeddings(self, request: Request) -> JSONResponse:
        """OpenAI's embeddings shape; ``encoding_format=base64`` as the official client may ask."""
        import base64

        import numpy as np

        body = await request.json()
        with self._lock:
            self.embedding_requests.append(body)
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        if not texts or any(not isinstance(t, str) or not t for t in texts):
            return JSONResponse({"error": {"message": "input must be non-empty strings", "type": "invalid_request_error"}},
                                status_code=400)
        data = []
        for k, text in enumerate(texts):
            vector = self.embed(text)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
            data.append({"object": "embedding", "index": k, "embedding": vector})
        used = sum(tokens(t) for t in texts)
        return JSONResponse({"object": "list", "data": data, "model": body.get("model", "unknown"),
                             "usage": {"prompt_tokens": used, "total_tokens": used}})

    async def _models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "test"}]})

    def start(self) -> "OpenAIServer":
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"]),
                                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                                Route("/v1/models", self._models, methods=["GET"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local OpenAI test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A running local OpenAI-compatible server for one test."""
    server = OpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":  # a server process of its own (bench/llm_client.py): prints its base URL
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="local OpenAI-compatible test server")
    parser.add_argument("--latency", type=float, default=0.0)
    server = OpenAIServer(latency=parser.parse_args().latency).start()
    print(server.base_url, flush=True)
    sys.stdin.read()  # serve until stdin closes
    server.stop()


def rubric_score(response: str) -> float:
    """The deterministic judge's p(accept) of a response: a hash of its text mapped to [0, 1)."""
    import hashlib

    return int(hashlib.sha256(response.encode()).hexdigest()[:8], 16) / 2**32


def rubric_judge(body: dict) -> str:
    """A judge that scores by rule, so agreement with planted human verdicts is known in advance:
    p(accept) from ``rubric_score`` of the text between <response> tags; ratings and verdict follow."""
    text = last_user_message(body)
    response = text.split("<response>\n", 1)[1].rsplit("\n</response>", 1)[0]
    score = rubric_score(response)
    verdict = "accept" if score >= 0.6 else "edit" if score >= 0.3 else "reject"
    return json.dumps({"correctness": 1 + round(score * 4), "style": 1 + round((1 - score) * 4), "verdict": verdict,
                       "accept_probability": round(score, 6), "rationale": f"rule score {score:.3f}"})


UNGROUNDED = "The parties agree to share all profits equally forever."


def passage(body: dict) -> str:
    """The document chunk a synthesis prompt carries between its <passage> tags."""
    text = last_user_message(body)
    return text.split("<passage>\n", 1)[1].rsplit("\n</passage>", 1)[0]


def respond(body: dict) -> str:
    """A question-answer reply grounded in the passage it was sent (its own words), except for a
    passage containing ZEBRA, which gets an evidence quote found nowhere in it."""
    chunk = passage(body)
    words = chunk.split()
    if "ZEBRA" in chunk:
        quote = UNGROUNDED
    else:  # words re-joined by single spaces: grounded after whitespace normalisation
        quote = " ".join(words[2:14])
    return json.dumps({"question": f"What does the passage say about {' '.join(words[:3])}?",
                       "answer": " ".join(words[:20]), "evidence_quote": quote})


def planted_store(root, server: "OpenAIServer", docs: list[dict]) -> dict[str, str]:
    """A store under ``root`` holding ``docs`` (title/text records) as the source ``planted``, its
    provider the local ``server`` answering question-answer pairs from the passage (``respond``)."""
    from conftest import make_env, run_curator

    path = root / "planted.json"
    path.write_text(json.dumps({"documents": docs}), encoding="utf-8")
    server.respond = respond
    env = make_env(root, CURATOR_OPENAI_BASE_URL=server.base_url, CURATOR_OPENAI_API_KEY="test-key",
                   CURATOR_MODEL="gpt-4o-mini", CURATOR_MAX_RETRIES="1", CURATOR_REQUEST_TIMEOUT="20")
    run_curator(["ingest", str(path), "--source", "planted"], env)
    return env
