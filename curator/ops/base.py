"""An operation is one step of curator defined once: a pydantic parameters model, a library
function, a pydantic result model and the role allowed to run it, registered by name.

The CLI and the API are thin faces over the registry (``curator/cli/``, ``curator/api/routes/``):
both validate with the same parameters model and print or return ``execute(...)``'s output, so
``--json`` and the HTTP body have one shape by construction. Operations that write run as jobs
in the service (``curator/jobs/``); reads answer at once on a cursor of their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, RootModel

from ..config import Settings
from ..errors import CuratorError


class JobCancelled(CuratorError):
    """The job was cancelled; its open transaction rolled back."""


class Params(BaseModel):
    """Base of every parameters model: unknown keys are an error, on the CLI and over HTTP; so
    are NaN and infinities (a query string's ``nan`` once reached a result, unserialisable)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Result(BaseModel):
    """Base of result models: the fields a client may rely on are declared; steps may add more
    detail (reports grow), which is passed through unchanged rather than dropped."""

    model_config = ConfigDict(extra="allow")


class Rows(RootModel[list[dict[str, Any]]]):
    """A list of rows (versions, keys, runs)."""


class AnyResult(RootModel[Any]):
    """A result whose shape depends on its parameters (e.g. dedup of one target or of all)."""


@dataclass
class Context:
    """What an operation may use: the store (the owner's cursor), the settings, who asked, and
    a way to report progress, write to the job's log and notice a cancel."""

    conn: duckdb.DuckDBPyConnection
    settings: Settings
    actor: str
    on_progress: Callable[[int, int | None, str | None, str | None], None] = lambda *_: None
    on_log: Callable[[str], None] = lambda _line: None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    uploads: dict[str, Any] = field(default_factory=dict)  # files a face received for this call
    role: str = "admin"  # the caller's role (the local CLI owns the store); the SQL guard narrows tables by it

    def progress(self, done: int, total: int | None = None, unit: str | None = None, stage: str | None = None) -> None:
        """Report progress; raises ``JobCancelled`` once a cancel was asked, so the step's
        transaction rolls back at its next progress point."""
        if self.cancel_event.is_set():
            raise JobCancelled("cancelled on request; the step's open transaction was rolled back")
        self.on_progress(done, total, unit, stage)

    def log(self, line: str) -> None:
        self.on_log(line)


# read: answers at once on a cursor of its own. direct: a small write that touches nothing a job
# writes (API keys), run in the request so its result (a secret) is never stored in a job row.
# job: a writing step, queued and run by the service's runner one at a time.
Kind = Literal["read", "direct", "job"]


@dataclass(frozen=True)
class Operation:
    name: str
    params: type[BaseModel]
    result: type[BaseModel]
    fn: Callable[[Context, Any], Any]
    kind: Kind
    role: str
    method: str
    path: str
    status_code: int = 200
    cli: tuple[str, ...] = ()
    local_only_fields: tuple[str, ...] = ()
    store: Literal["open", "connect", "none"] = "open"  # in-process: migrate first, just connect, or leave it

    @property
    def summary(self) -> str:
        return (self.fn.__doc__ or self.name).strip().split("\n")[0]

    def execute(self, ctx: Context, params: BaseModel) -> Any:
        """Run the step and return its result as plain JSON-able data, validated by the result model."""
        raw = self.fn(ctx, params)
        if isinstance(raw, BaseModel):
            raw = raw.model_dump(mode="json")
        return self.result.model_validate(raw).model_dump(mode="json", by_alias=True)


REGISTRY: dict[str, Operation] = {}


def operation(name: str, *, params: type[BaseModel], result: type[BaseModel], kind: Kind, role: str,
              method: str, path: str, cli: tuple[str, ...], status_code: int = 200,
              local_only_fields: tuple[str, ...] = (), store: str = "open") -> Callable:
    """Register ``fn(ctx, params)`` as the operation ``name`` with its faces' coordinates: the
    HTTP method and path (``{field}`` segments come from the parameters) and the CLI words."""

    def register(fn: Callable[[Context, Any], Any]) -> Callable[[Context, Any], Any]:
        if name in REGISTRY:
            raise RuntimeError(f"operation {name!r} registered twice")
        REGISTRY[name] = Operation(name, params, result, fn, kind, role, method.upper(), path, status_code, cli,
                                   local_only_fields, store)
        return fn

    return register
