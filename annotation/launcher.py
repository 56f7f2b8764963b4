"""``python -m annotation.launcher install|init|start|stop|status`` (scripts/label_studio.sh).

Paths and credentials come from curator's settings: the venv from ``label_studio_venv`` (or the
per-version cache), the data dir under ``state_dir/label-studio``, the admin and token from the
``label_studio_*`` settings. ``start`` leaves the server running and writes its pid and URL to
``state_dir/label-studio.pid``; ``stop`` ends that process group."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from curator.config import get_settings

from . import server

app = typer.Typer(help="A local Label Studio for curator review.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


def _paths():
    settings = get_settings()
    venv = settings.label_studio_venv or server.default_venv()
    data = settings.state_dir / "label-studio"
    creds = server.Credentials(settings.label_studio_username, settings.label_studio_password.get_secret_value(),
                               settings.label_studio_token.get_secret_value())
    return settings, venv, data, creds, settings.state_dir / "label-studio.pid"


def _fail(exc: Exception):
    print(f"error: {exc}", file=sys.stderr)
    raise typer.Exit(1)


@app.command()
def install():
    """Create Label Studio's own virtualenv when missing."""
    try:
        print(server.ensure_venv(_paths()[1]))
    except server.LabelStudioError as exc:
        _fail(exc)


@app.command()
def init():
    """Install if needed, then prepare the data dir (admin user and legacy token)."""
    _, venv, data, creds, _ = _paths()
    try:
        print(server.init_data_dir(server.ensure_venv(venv), data, creds))
    except server.LabelStudioError as exc:
        _fail(exc)


@app.command()
def start(port: Annotated[Optional[int], typer.Option(help="default: the port of CURATOR_LABEL_STUDIO_URL")] = None):
    """Start the server on 127.0.0.1 (installing and initialising first when needed)."""
    settings, venv, data, creds, pidfile = _paths()
    if pidfile.exists():
        _fail(RuntimeError(f"{pidfile} exists: run `stop` first (or delete it if that server is gone)"))
    port = port or int(settings.label_studio_url.rsplit(":", 1)[-1].split("/")[0])
    try:
        venv = server.ensure_venv(venv)
        server.init_data_dir(venv, data, creds)
        running = server.start(venv, data, creds, port=port)
    except server.LabelStudioError as exc:
        _fail(exc)
    pidfile.write_text(json.dumps({"pid": running.pid, "url": running.url}))
    print(f"Label Studio at {running.url} (pid {running.pid}, log {running.log})")


@app.command()
def stop():
    """Stop the server started by `start`."""
    pidfile = _paths()[4]
    if not pidfile.exists():
        print("not running")
        return
    server.stop_pid(json.loads(pidfile.read_text())["pid"])
    pidfile.unlink()
    print("stopped")


@app.command()
def status():
    """Whether the server answers /health."""
    import httpx

    settings, *_ , pidfile = _paths()
    info = json.loads(pidfile.read_text()) if pidfile.exists() else {"url": settings.label_studio_url}
    try:
        ok = httpx.get(f"{info['url']}/health", timeout=3).status_code == 200
    except httpx.TransportError:
        ok = False
    print(json.dumps({**info, "healthy": ok}))
    raise typer.Exit(0 if ok else 1)


if __name__ == "__main__":
    app()
