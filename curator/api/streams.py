"""A cap on open server-sent event streams, per key and in all. A stream costs no thread (it
waits on the runner asynchronously) but each holds a socket and a little memory for as long as
its job runs; past the cap a client gets a 429 that says which cap, instead of the service
slowing for everyone (the second probe held 60 streams open and /health took 10 s)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Callable

from fastapi import HTTPException, status


class StreamSlots:
    def __init__(self, total: int, per_key: int):
        self.total, self.per_key = total, per_key
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, holder: str) -> Callable[[], None]:
        """Take a slot for ``holder`` (a key's name) or raise a 429; returns the release, safe to call twice."""
        with self._lock:
            if sum(self._open.values()) >= self.total:
                raise _busy(f"{self.total} event streams are open on this service (the most it holds)")
            if self._open[holder] >= self.per_key:
                raise _busy(f"key {holder!r} holds {self.per_key} event streams open (the most one key may); "
                            "close one or poll GET /jobs/{id}")
            self._open[holder] += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self._open[holder] -= 1
                    if self._open[holder] <= 0:
                        del self._open[holder]

        return release

    def count(self) -> int:
        with self._lock:
            return sum(self._open.values())


def _busy(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": "5"})
