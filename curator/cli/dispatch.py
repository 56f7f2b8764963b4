"""One way for every command to run its operation: in-process on the store when no service
owns it, or through the service (the CLI as its client), with the same progress display and the
same result, printed as ``--json`` or by the command's renderer."""

from __future__ import annotations

from typing import Any, Callable

from ..audit import cli_actor
from ..config import get_settings
from ..ops import Context, Operation, get
from . import remote
from .output import ProgressDisplay, emit_json


def local(op: Operation, params, display: ProgressDisplay) -> Any:
    """Run in this process on the store file (closed again at once, so it is never held longer)."""
    from ..store import connect, open_store

    settings = get_settings()
    conn = {"open": open_store, "connect": connect, "none": lambda _db: None}[op.store](settings.db)
    try:
        return op.execute(Context(conn, settings, cli_actor(), display.update, display.log), params)
    finally:
        if conn is not None:
            conn.close()


def execute(name: str, params: dict, *, quiet: bool = False, verbose: bool = False, label: str | None = None) -> Any:
    """Validate ``params`` with the operation's model and run it wherever the store's owner is."""
    op = get(name)
    model = op.params.model_validate(params)
    service = remote.find_service(get_settings())
    with ProgressDisplay(label or name, quiet, verbose) as display:
        if service is not None:
            try:
                if op.name == "ingest":
                    return remote.ingest(service, op, model, display.update)
                return remote.call(service, op, model, display.update)
            except remote.ServiceUnreachable:
                if not service.discovered:
                    raise
                # A service file left by a killed service whose PID was reused: nobody owns the store.
        return local(op, model, display)


def run(name: str, params: dict, as_json: bool, render: Callable[[Any], None] | None = None, **kwargs) -> Any:
    """Execute and print: the result as JSON, or through ``render``."""
    result = execute(name, params, quiet=as_json, **kwargs)
    if as_json or render is None:
        emit_json(result)
    else:
        render(result)
    return result


def through_service() -> remote.Service | None:
    return remote.find_service(get_settings())
