"""``curator init``, ``curator serve``, ``curator doctor`` and ``curator jobs …`` (the service's queue)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..config import get_settings
from . import remote
from .dispatch import run, through_service
from .output import JsonOpt, ProgressDisplay, emit_json, fail, friendly_errors, out


def init(as_json: JsonOpt = False):
    """Create the store, or migrate it to the current schema (a no-op when up to date)."""
    with friendly_errors():
        run("init", {}, as_json, lambda r: out.print(
            f"{r['db']}: " + (f"applied {', '.join(r['applied'])}" if r["applied"] else "up to date")))


def doctor(as_json: JsonOpt = False):
    """What this installation will do: store, model endpoint, active PII detectors, optional parts."""

    def render(data: dict) -> None:
        store, model, pii = data["store"], data["model"], data["pii"]
        out.print(f"store: {store['path']}" + (f" (schema {store['schema_version']}/{store['latest']})"
                                               if store["exists"] else " (missing)")
                  + (f" — {store['hint']}" if store["hint"] else ""), highlight=False)
        service = through_service()
        out.print(f"service: {service.url if service else 'none (commands run in-process on the store)'}",
                  highlight=False)
        out.print(f"model: {model['model']} at {model['base_url']}; API key {'set' if model['api_key_set'] else 'NOT set'}; "
                  f"{'priced' if model['priced'] else 'no price (cost unknown, --max-cost refused)'}", highlight=False)
        out.print(f"PII policy: {pii['policy']}; active detectors: {', '.join(pii['detectors'])}", highlight=False)
        out.print(f"NER model: {pii['ner_model'] or 'none'}" + (f" — {pii['warning']}" if pii["warning"] else ""),
                  highlight=False)
        ls = data["label_studio"]
        out.print(f"Label Studio: {ls['url']} " + ("answers" if ls["healthy"] else f"does not answer — {ls['hint']}"),
                  highlight=False)
        for name, ok in data["optional"].items():
            out.print(f"{escape(name)}: {'installed' if ok else 'not installed'}", highlight=False)

    with friendly_errors():
        run("doctor", {}, as_json, render)


def _start_background(host: str | None, port: int | None) -> None:
    """Start ``curator serve`` as a detached process, wait until it answers, say how to stop it."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    settings = get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    log = settings.state_dir / "serve.log"
    args = [sys.executable, "-m", "curator", "serve", *(["--host", host] if host else []),
            *(["--port", str(port)] if port else [])]
    with open(log, "ab") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            fail(f"the service exited at start ({proc.returncode}): " + " | ".join(tail))
        service = through_service()
        if service is not None:
            try:
                if httpx.get(f"{service.url}/health", timeout=2).status_code == 200:
                    out.print(f"curator service on {service.url} (PID {proc.pid}), owning {settings.db}; log in {log}; "
                              "stop it with `curator serve --stop`", highlight=False)
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    proc.terminate()
    fail(f"the service did not answer within 120 s; see {log}")


def _stop() -> None:
    import os
    import signal
    import time

    from .. import service_file

    settings = get_settings()
    info = service_file.read(settings.db)
    if info is None:
        out.print(f"no curator service owns {settings.db}")
        return
    os.kill(info.pid, signal.SIGTERM)  # uvicorn shuts down gracefully: the inbox is applied, jobs cancelled
    deadline = time.monotonic() + 60
    while service_file.read(settings.db) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    out.print(f"stopped the curator service on {info.url} (PID {info.pid})", highlight=False)


def serve(host: Annotated[Optional[str], typer.Option()] = None,
          port: Annotated[Optional[int], typer.Option()] = None,
          background: Annotated[bool, typer.Option("--background", help="start it detached, wait until it "
                                                   "answers, and return (log in $CURATOR_STATE_DIR/serve.log)")] = False,
          stop: Annotated[bool, typer.Option("--stop", help="stop the service that owns this store")] = False):
    """Run the API service; it owns the store file while it runs, and the CLI sends its commands to it."""
    with friendly_errors():
        if stop:
            return _stop()
        if background:
            return _start_background(host, port)
        import uvicorn

        from ..api.app import create_app
        from ..store import open_store

        settings = get_settings()
        running = through_service()
        if running is not None and running.discovered:
            fail(f"{settings.db} is already served by {running.url}; stop that service first")
        open_store(settings.db).close()  # fail in one line if another process holds the store
        # The service's own address: Label Studio's webhook URL and the service file derive from it.
        settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
        app = create_app(settings)
        app.state.port = settings.port
        uvicorn.run(app, host=settings.host, port=settings.port, workers=1, server_header=False)


jobs_app = typer.Typer(help="The service's jobs: list, show, follow, cancel (needs a running service).",
                       no_args_is_help=True)


def _service() -> remote.Service:
    service = through_service()
    if service is None:
        fail("no curator service owns this store (jobs exist only while `curator serve` runs); start it, or set "
             "CURATOR_URL")
    return service


def _print_job(job: dict) -> None:
    p = job["progress"]
    done = "" if p["done"] is None else f", {p['done']}/{p['total'] or '?'} {p['unit'] or ''}".rstrip()
    out.print(f"job {job['id']} {job['kind']} by {job['actor']}: {job['status']}{done}"
              + (f" ({p['stage']})" if p.get("stage") else ""), highlight=False)
    if job["error"]:
        out.print(f"error: {job['error']['detail']}", highlight=False)
    for line in job["log_tail"][-10:]:
        out.print(f"  {line}", highlight=False, markup=False)


@jobs_app.command("list")
def jobs_list(status: Annotated[Optional[str], typer.Option(help="queued|running|succeeded|failed|cancelled")] = None,
              limit: Annotated[int, typer.Option(help="newest N jobs")] = 50, as_json: JsonOpt = False):
    """Jobs, newest first."""
    with friendly_errors():
        found = remote.request(_service(), "GET", "/jobs",
                               params={"limit": limit, **({"status": status} if status else {})}).json()
        if as_json:
            emit_json(found)
            return
        table = Table("id", "kind", "actor", "status", "progress", "created", "finished")
        for j in found:
            p = j["progress"]
            table.add_row(str(j["id"]), j["kind"], j["actor"] or "(not yours)", j["status"],
                          "" if p["done"] is None else f"{p['done']}/{p['total'] or '?'} {p['unit'] or ''}",
                          str(j["created_at"])[:19], str(j["finished_at"] or "")[:19])
        out.print(table)


@jobs_app.command("show")
def jobs_show(job_id: int, as_json: JsonOpt = False):
    """One job: status, progress, result or error, log tail."""
    with friendly_errors():
        job = remote.request(_service(), "GET", f"/jobs/{job_id}").json()
        emit_json(job) if as_json else _print_job(job)


@jobs_app.command("follow")
def jobs_follow(job_id: int, as_json: JsonOpt = False):
    """Follow a job with a progress bar until it ends."""
    with friendly_errors():
        with ProgressDisplay(f"job {job_id}", as_json) as bar:
            job = remote.follow(_service(), job_id, bar.update)
        emit_json(job) if as_json else _print_job(job)


@jobs_app.command("cancel")
def jobs_cancel(job_id: int, as_json: JsonOpt = False):
    """Cancel a queued job, or stop a running one at its next progress point (its transaction rolls back)."""
    with friendly_errors():
        job = remote.request(_service(), "POST", f"/jobs/{job_id}/cancel").json()
        emit_json(job) if as_json else _print_job(job)
