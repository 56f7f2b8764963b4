"""The request cache and generation-run bookkeeping in DuckDB.

A request is keyed by the sha256 of the canonical JSON of (model, messages, params): the same
payload is answered from ``llm_cache`` without a request, so a re-run never pays twice.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from concurrent.futures import Future
from typing import Any

import duckdb
import orjson

from ..sqlfiles import query
from ..store import rows, transaction


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def payload_hash(model: str, messages: list[dict], params: dict) -> str:
    return hashlib.sha256(canonical({"model": model, "messages": messages, "params": params})).hexdigest()


def cost_usd(prices: dict[str, dict[str, float]], model: str, prompt_tokens: int,
             completion_tokens: int) -> float | None:
    """usage × the price table (USD per 1M tokens); None when the model has no price."""
    price = prices.get(model)
    if price is None:
        return None
    return (prompt_tokens * price["input"] + completion_tokens * price["output"]) / 1_000_000


def lookup_many(conn: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, dict]:
    """The cached rows for ``keys`` in one query (a run looks its whole batch up before sending)."""
    found = {}
    for row in rows(conn, "llm.cache_get_many", {"payload_hashes": keys}):
        row["response"] = orjson.loads(row["response"])
        found[row.pop("payload_hash")] = row
    return found


def cache_row(key: str, request: dict, response: dict, prompt_tokens: int, completion_tokens: int,
              cost: float | None, run_id: int | None = None) -> dict:
    return {"payload_hash": key, "run_id": run_id, "model": request["model"], "request": canonical(request).decode(),
            "response": canonical(response).decode(), "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens, "cost_usd": cost}


class CacheWriter:
    """One thread writing responses to ``llm_cache`` on a cursor of its own, so a DuckDB commit never
    stalls the event loop. Whatever has queued while a commit runs goes into the next transaction
    together, and every caller waits on its own future: a response is stored before its result is
    returned, so a crash later in the run loses nothing that was paid for."""

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self._cursor = conn.cursor()
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="llm-cache-writer", daemon=True)
        self._thread.start()

    def submit(self, row: dict) -> Future:
        done: Future = Future()
        self._queue.put((row, done))
        return done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._cursor.close()

    def _loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            try:
                with transaction(self._cursor):
                    self._cursor.executemany(query("llm.cache_put"), [row for row, _ in batch])
            except Exception as exc:  # handed to every waiting caller, who re-raises it
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)


def start_run(conn: duckdb.DuckDBPyConnection, base_url: str, model: str, template_hash: str | None,
              params: dict) -> int:
    """A new run row. Runs still marked running belong to a process that died (DuckDB has one
    writer): they are closed as failed, their totals recomputed from the responses they paid for."""
    conn.execute(query("llm.close_interrupted"))
    return rows(conn, "llm.run_start", {"base_url": base_url, "model": model, "template_hash": template_hash,
                                        "params": canonical(params).decode()})[0]["id"]


def finish_run(conn: duckdb.DuckDBPyConnection, run_id: int, status: str, **counts: Any) -> None:
    conn.execute(query("llm.run_finish"), {"id": run_id, "status": status, **counts})
