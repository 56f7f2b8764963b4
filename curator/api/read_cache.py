"""Answers of store-wide reads kept in memory until the runner commits its next write.

The service is the store's one writer: every write is a runner job, a webhook batch or a direct
operation, and each bumps ``runner.generation`` after it commits. A read computed at generation
g therefore stays true while the generation is g, so a dashboard polling ``GET /stats`` during a
long job costs a dictionary lookup instead of DuckDB queries competing with the job. The
generation is read *before* computing, so a write racing the computation files the answer under
the older generation, which is never asked for again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable


class ReadCache:
    def __init__(self, size: int = 64):
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def get(self, key: Hashable, generation: int, compute: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found and found[0] == generation:
                self._items.move_to_end(key)
                return found[1]
        value = compute()
        with self._lock:
            self._items[key] = (generation, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
