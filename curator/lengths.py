"""Message lengths by role, in tokens of a chosen local tokenizer or in characters, cached.

Stewards ask "how long are these examples for the model we train" many times; tokenizing every
example on every request would take seconds at a million rows. Examples' messages never change
and a version's items are frozen, so each length is computed once per tokenizer and kept in
``example_lengths`` / ``item_lengths``; a request only tokenizes rows added since.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import duckdb
import orjson
import pyarrow as pa

from .errors import InputError
from .sqlfiles import query
from .store import transaction

CHARS = "chars"
ROLES = ("system", "user", "assistant")
BATCH = 20_000
# Fills append to the length caches only, which no other step writes, so they take this lock
# rather than the store's WRITE_LOCK: stats stay answerable while an ingest holds that one.
FILL_LOCK = threading.Lock()
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                    "tokenizer.model", "special_tokens_map.json", "vocab.txt")


@dataclass(frozen=True)
class Counter:
    """How lengths are measured: ``key`` names it in the cache, ``count`` measures many texts."""

    key: str
    label: str
    count: Callable[[list[str]], list[int]] | None  # None: characters, counted in SQL


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.name in _TOKENIZER_FILES)
    if not files:
        raise InputError(f"tokenizer {path}: no tokenizer files ({', '.join(_TOKENIZER_FILES[:2])}) in it")
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _load(path: Path) -> Callable[[list[str]], list[int]]:
    """A ``tokenizer.json`` file (or a directory holding one) loads with ``tokenizers``, which keeps
    transformers (and torch) out of the service; only a directory without one (a sentencepiece-only
    model) needs transformers' AutoTokenizer."""
    if path.is_dir() and (path / "tokenizer.json").is_file():
        path = path / "tokenizer.json"
    elif path.is_dir():
        try:
            from transformers import AutoTokenizer
        except ImportError:
            path = path / "tokenizer.json"
        else:
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            return lambda texts: [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise InputError("counting tokens needs the `tokenizers` package (pip install tokenizers); "
                         "leave the tokenizer unset for character counts") from None
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
        raise InputError(f"tokenizer {path}: cannot load: {exc}") from None
    return lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]


@lru_cache(maxsize=8)
def _counter_for(path: str, fingerprint: str) -> Counter:
    return Counter(f"tok:{fingerprint}", f"tokens ({Path(path).name})", _load(Path(path)))


def counter(tokenizer: str | Path | None) -> Counter:
    """Character counts when ``tokenizer`` is None, else the tokenizer at that local path."""
    if tokenizer is None or str(tokenizer) == "":
        return Counter(CHARS, "characters", None)
    path = Path(tokenizer).expanduser().resolve()
    if not path.exists():
        raise InputError(f"tokenizer {path}: no such file or directory (give a local tokenizer.json or "
                         "a model directory, or leave it unset for character counts)")
    stamp = max((p.stat().st_mtime_ns, p.stat().st_size) for p in ([path] if path.is_file() else path.iterdir()))
    return _counter_for(str(path), _fingerprint_of(str(path), stamp))


@lru_cache(maxsize=32)
def _fingerprint_of(path: str, _stamp: tuple[int, int]) -> str:
    """Hash the tokenizer files once per modification, not on every stats call."""
    return _fingerprint(Path(path))


def _texts(messages: list[dict]) -> list[str]:
    return [c if isinstance(c := m.get("content"), str) else "" if c is None else orjson.dumps(c).decode()
            for m in messages]


def _batch_lengths(batch: list[tuple[int, str]], count: Callable[[list[str]], list[int]]) -> list[tuple]:
    """(id, system, user, assistant, total) per row; one tokenizer call for the whole batch."""
    parsed = [(rid, orjson.loads(msgs)) for rid, msgs in batch]
    sizes = iter(count([t for _, messages in parsed for t in _texts(messages)]))
    out = []
    for rid, messages in parsed:
        mine = [next(sizes) for _ in messages]
        by_role = [sum(n for m, n in zip(messages, mine) if m.get("role") == role) for role in ROLES]
        out.append((rid, *by_role, sum(mine)))
    return out


Progress = Callable[[int], None]


def _fill(conn: duckdb.DuckDBPyConnection, ctr: Counter, missing_sql: str, table: str,
          params: dict, version_id: int | None, progress: Progress | None = None) -> int:
    """Tokenize the rows ``missing_sql`` returns and append them to ``table``, one commit per batch:
    the cache is append-only and every row is complete, so an interrupted fill is resumed, not redone."""
    added = 0
    with conn.cursor() as reader:
        result = reader.execute(missing_sql, params)
        while batch := result.fetchmany(BATCH):
            rows = _batch_lengths(batch, ctr.count)
            cols = list(zip(*rows))
            data = {"tokenizer": [ctr.key] * len(rows)}
            if version_id is not None:
                data["version_id"] = [version_id] * len(rows)
            data |= {"example_id": cols[0], "system": cols[1], "user": cols[2], "assistant": cols[3],
                     "total": cols[4]}
            with conn.cursor() as writer:
                writer.register("new_lengths", pa.table(data))
                writer.execute(f"INSERT INTO {table} BY NAME SELECT * FROM new_lengths")
            added += len(rows)
            if progress:
                progress(added)
    return added


def missing_examples(conn: duckdb.DuckDBPyConnection, ctr: Counter) -> int:
    """How many examples have no cached length yet (for a progress bar's total)."""
    with conn.cursor() as cur:
        n, _, cached, _ = cur.execute(query("stats.lengths_fresh"), {"tokenizer": ctr.key}).fetchone()
    return max(n - cached, 0)


def refresh_examples(conn: duckdb.DuckDBPyConnection, ctr: Counter, progress: Progress | None = None) -> int:
    """Bring ``example_lengths`` up to date for ``ctr``; returns rows added (0 when fresh).

    Examples are never deleted and their messages never change, so the cache is complete when it
    holds as many rows as ``examples`` and the same highest id; that check costs two counts."""
    with conn.cursor() as cur:
        n, max_id, cached, cached_max = cur.execute(query("stats.lengths_fresh"), {"tokenizer": ctr.key}).fetchone()
    if n == cached and max_id == cached_max:
        return 0
    with FILL_LOCK, conn.cursor() as cur:
        if ctr.count is None:
            with transaction(cur):
                return cur.execute(query("stats.fill_example_char_lengths")).fetchone()[0]
        return _fill(cur, ctr, query("stats.examples_missing_lengths"), "example_lengths",
                     {"tokenizer": ctr.key}, None, progress)


def refresh_version(conn: duckdb.DuckDBPyConnection, ctr: Counter, version_id: int) -> int:
    """Fill ``item_lengths`` for one version (its items are frozen: done once)."""
    with FILL_LOCK, conn.cursor() as cur:
        if ctr.count is None:
            with transaction(cur):
                return cur.execute(query("stats.fill_item_char_lengths"), {"version_id": version_id}).fetchone()[0]
        return _fill(cur, ctr, query("stats.version_items_missing_lengths"), "item_lengths",
                     {"tokenizer": ctr.key, "version_id": version_id}, version_id)
