"""The ingest step: paths in, one committed transaction per file out.

Files are hashed and planned in this process, parsed (decode, normalise, validate, hash) in a
pool of processes when there is enough work, and committed here in input order, so the
result does not depend on which worker finished first. A file already committed for the same
source (same SHA-256) by an earlier batch is skipped and named (``skipped_files``): re-running
after a crash finishes the job and nothing else. A byte-identical copy met in the same batch (a
contract filed twice under two names) is parsed once and recorded against the kept file, with
its own path, in the kept file's transaction (``file_copies``), so every copy is traced.
"""

from __future__ import annotations

import fnmatch
import gc
import hashlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Callable, Iterable, Iterator

import duckdb
import orjson

from ..audit import record_audit
from ..errors import InputError
from ..sqlfiles import query
from ..store import WRITE_LOCK, transaction
from .options import IngestOptions
from .readers import Task, parse_task, plan_tasks, reader_for
from .records import Reject
from .staging import StagedFile
from .writer import commit_file



@dataclass
class IngestReport:
    batch_id: int
    files: int = 0
    files_skipped: int = 0
    skipped_files: list[dict] = field(default_factory=list)
    file_copies: list[dict] = field(default_factory=list)
    documents_added: int = 0
    examples_added: int = 0
    duplicates_skipped: int = 0
    rejected: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self, show_origin: Callable[[str], str] = str) -> dict:
        """The one JSON shape printed by ``curator ingest --json`` and returned by ``POST /ingest``."""
        return {"batch_id": self.batch_id, "files": self.files, "files_skipped": self.files_skipped,
                "skipped_files": [{"path": show_origin(f["path"]), "ingested_as": show_origin(f["ingested_as"])}
                                  for f in self.skipped_files],
                "file_copies": [{"path": show_origin(f["path"]), "copy_of": show_origin(f["copy_of"])}
                                for f in self.file_copies],
                "documents_added": self.documents_added, "examples_added": self.examples_added,
                "duplicates_skipped": self.duplicates_skipped,
                "rejected": [{"origin": show_origin(r["origin"]), "reason": f"{r['code']}: {r['reason']}"}
                             for r in self.rejected]}


@dataclass(frozen=True)
class _Planned:
    path: Path
    source: str
    reader: str | None
    sha256: str
    n_bytes: int
    tasks: tuple[Task, ...]


def expand_paths(paths: Iterable[Path], exclude: Iterable[str] = ()) -> Iterator[tuple[Path, Path]]:
    """Yield (argument, file) for every file named or found under a directory, sorted.

    Hidden files and files of unknown type met while walking a directory are skipped;
    a file named explicitly is always processed (an unknown type is then a reject)."""
    patterns = list(exclude)
    for arg in paths:
        if not arg.exists():
            raise InputError(f"{arg}: no such file or directory")
        if arg.is_file():
            yield arg, arg.resolve()
            continue
        for found in sorted(p for p in arg.rglob("*") if p.is_file()):
            rel = found.relative_to(arg)
            if any(part.startswith(".") for part in rel.parts) or reader_for(found) is None:
                continue
            if any(fnmatch.fnmatch(found.name, pat) or fnmatch.fnmatch(str(rel), pat) for pat in patterns):
                continue
            yield arg, found.resolve()


def _plan(arg: Path, path: Path, source: str, chunk_bytes: int) -> _Planned:
    reader = reader_for(path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    tasks = tuple(plan_tasks(path, reader, data, chunk_bytes)) if reader else ()
    return _Planned(path, source, reader, digest, len(data), tasks)


def _source_id(conn: duckdb.DuckDBPyConnection, name: str) -> int:
    conn.execute(query("ingest.get_or_create_source"), {"name": name})
    return conn.execute(query("ingest.source_id"), {"name": name}).fetchone()[0]


def stage_task(task: Task, opts: IngestOptions) -> StagedFile:
    """Parse one task into Arrow tables; runs in the parser processes."""
    return StagedFile.from_parsed(parse_task(task, opts))


# Parser processes are forked from a server process that has imported the parsing code once
# (multiprocessing's "forkserver"; "spawn" where there is none): a spawned worker spends ~0.7 s
# of CPU importing it (pyarrow, and pandas, which pyarrow imports on the first conversion of
# Python objects) on every ingest, 1.5 s of a 50 MB ingest's 5. The server starts with the first
# pool of a process and is reused by the next; unlike a plain fork of this process, whose DuckDB
# threads make fork unsafe, it is a fresh single-threaded process. A preload module that cannot
# be imported is skipped by multiprocessing. Each worker starts with gc.freeze(): what it inherited
# (the imported modules, ~10^5 objects) is then never walked by the collections that parsing's
# many new dicts and lists set off, ~8% of parsing's CPU.
_START = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
_PRELOAD = [__name__, "pandas"]


def _pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context(_START)
    if _START == "forkserver":
        context.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=gc.freeze)


def _parse_all(planned: list[_Planned], opts: IngestOptions, workers: int,
               parallel: bool) -> Iterator[tuple[_Planned, StagedFile]]:
    """Staged files in input order; chunked files are stitched back together."""
    tasks = [t for p in planned for t in p.tasks]
    if parallel and workers > 1 and len(tasks) > 1:
        pool = _pool(workers)
        results = pool.map(stage_task, tasks, repeat(opts), chunksize=1)
    else:
        pool = None
        results = map(stage_task, tasks, repeat(opts))
    try:
        for plan in planned:
            merged = StagedFile(str(plan.path), plan.reader or "")
            for _ in plan.tasks:
                merged.extend(next(results))
            yield plan, merged
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _start_batch(conn: duckdb.DuckDBPyConnection, actor: str, options: dict) -> int:
    with transaction(conn):
        batch_id = conn.execute(query("ingest.start_batch"),
                                {"actor": actor, "options": orjson.dumps(options).decode()}).fetchone()[0]
        record_audit(conn, actor, "ingest.start", f"batch:{batch_id}", options)
    return batch_id


def _finish_batch(conn: duckdb.DuckDBPyConnection, actor: str, report: IngestReport) -> None:
    counts = ({k: v for k, v in report.as_dict().items() if k not in ("rejected", "skipped_files", "file_copies")}
              | {"rejects": len(report.rejected), "file_copies": len(report.file_copies)})
    with transaction(conn):
        conn.execute(query("ingest.finish_batch"), {"batch": report.batch_id, "counts": orjson.dumps(counts).decode()})
        record_audit(conn, actor, "ingest.finish", f"batch:{report.batch_id}", counts)


@dataclass
class _Plan:
    """What this batch will parse: the kept file per (source, sha256), each one's copies, the
    source ids, and the bytes already accounted for (skipped files and copies)."""
    planned: list[_Planned] = field(default_factory=list)
    copies: dict[Path, list[str]] = field(default_factory=dict)
    source_ids: dict[str, int] = field(default_factory=dict)
    done: int = 0


def _plan_batch(conn: duckdb.DuckDBPyConnection, found: list[tuple[Path, Path]], source: str | None,
                chunk_bytes: int, report: IngestReport) -> _Plan:
    """Hash and plan every file; skip those an earlier batch committed, record same-batch copies."""
    committed = {(s, h): path for s, h, path in conn.execute(query("ingest.committed_files")).fetchall()}
    first: dict[tuple[int, str], _Planned] = {}  # this batch's kept file per (source, sha256)
    plan = _Plan()
    for arg, path in found:
        name = source or (arg.stem if arg.is_file() else arg.resolve().name)
        if name not in plan.source_ids:
            plan.source_ids[name] = _source_id(conn, name)
        one = _plan(arg, path, name, chunk_bytes)
        key = (plan.source_ids[name], one.sha256)
        if key in committed:
            report.files_skipped += 1
            report.skipped_files.append({"path": str(path), "ingested_as": committed[key]})
        elif key in first:
            if path != first[key].path:  # the same file named twice is one file, not a copy
                plan.copies[first[key].path].append(str(path))
                report.file_copies.append({"path": str(path), "copy_of": str(first[key].path)})
        else:
            first[key] = one
            plan.copies[path] = []
            plan.planned.append(one)
            continue
        plan.done += one.n_bytes
    return plan


def _commit_one(conn: duckdb.DuckDBPyConnection, one: _Planned, parsed: StagedFile, plan: _Plan,
                report: IngestReport) -> dict:
    """Commit one parsed file in its own transaction; add its counts to ``report``."""
    if one.reader is None:
        parsed.rejects.append(Reject(f"{one.path}:1", "unsupported_format",
                                     f"unsupported file type {one.path.suffix or '(none)'!r}"))
    elif parsed.is_empty():
        parsed.rejects.append(Reject(f"{one.path}:1", "empty_file", "the file holds no records"))
    result = commit_file(conn, parsed, source_id=plan.source_ids[one.source], batch_id=report.batch_id,
                         sha256=one.sha256, n_bytes=one.n_bytes, copies=plan.copies[one.path])
    report.files += 1
    report.documents_added += result.documents
    report.examples_added += result.examples
    report.duplicates_skipped += result.duplicates
    report.rejected += [{"origin": r.origin, "code": r.code, "reason": r.reason} for r in parsed.rejects]
    return {"documents": result.documents, "examples": result.examples, "duplicates": result.duplicates,
            "rejects": result.rejects}


def ingest_paths(conn: duckdb.DuckDBPyConnection, paths: list[Path], *, opts: IngestOptions, actor: str,
                 source: str | None = None, exclude: Iterable[str] = (), workers: int = 1,
                 parallel_min_bytes: int = 4 << 20, chunk_bytes: int = 8 << 20,
                 progress: Callable[[str, int, int], None] | None = None,
                 file_done: Callable[[str, dict], None] | None = None) -> IngestReport:
    """Ingest files and directories; see the module docstring for the guarantees.

    ``progress(phase, done, total)`` is called with bytes; ``file_done(path, counts)`` after each commit.
    """
    found = list(expand_paths(paths, exclude))
    with WRITE_LOCK:
        options = {"format": opts.format, "fields": opts.fields, "source": source,
                   "paths": [str(p) for p in paths], "max_record_bytes": opts.max_record_bytes}
        report = IngestReport(_start_batch(conn, actor, options))
        plan = _plan_batch(conn, found, source, chunk_bytes, report)
        total, done = sum(p.stat().st_size for _, p in found), plan.done
        if progress:
            progress("ingest", done, total)
        parallel = sum(p.n_bytes for p in plan.planned) >= parallel_min_bytes
        for one, parsed in _parse_all(plan.planned, opts, workers, parallel):
            counts = _commit_one(conn, one, parsed, plan, report)
            done += one.n_bytes
            if progress:
                progress("ingest", done, total)
            if file_done:
                file_done(str(one.path), counts)
        _finish_batch(conn, actor, report)
    return report
