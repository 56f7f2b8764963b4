"""Run a local Label Studio: its own virtualenv, a prepared data dir, a loopback server.

Label Studio pins its own Django stack (and ``openai<2``), so it never shares curator's
environment: it lives in a virtualenv of its own, cached per version at a stable path so a
second run on the same machine starts in seconds. Facts this module is built on (1.23.2):
``--internal-host`` is the bind address (``--host`` is not); a taken port silently moves the
server to port+1, so we pick a free port and poll that one; ``label-studio --version`` starts a
server, so it is never called; the legacy token needs ``LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN``;
webhooks to 127.0.0.1 need ``LABEL_STUDIO_USE_DEFAULT_BANNED_SUBNETS=false``.

CLI: ``python -m annotation.server install|init|start|stop|status`` (scripts/label_studio.sh).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from curator.errors import CuratorError

VERSION = "1.23.2"
MARKER = ".curator-complete"


class LabelStudioError(CuratorError):
    """Label Studio could not be installed, prepared or started; the message says why."""


def default_venv() -> Path:
    return Path.home() / ".cache" / "curator" / f"label-studio-venv-{VERSION}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise installs and inits across processes (two pytest sessions, a script and a test)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(message: str) -> None:
    print(f"label-studio: {message}", file=sys.stderr, flush=True)


def ensure_venv(venv: Path | None = None, python: str | None = None) -> Path:
    """The virtualenv with label-studio==VERSION, created when missing (~80 s, ~1 GB).

    A marker file written last tells a complete install from an interrupted one, which is
    removed and redone."""
    venv = Path(venv or default_venv())
    if (venv / MARKER).exists():
        return venv
    with _file_lock(venv.parent / f".{venv.name}.lock"):
        if (venv / MARKER).exists():
            return venv
        if venv.exists():
            shutil.rmtree(venv)
        _say(f"installing label-studio=={VERSION} into {venv} (about 80 s, once per machine)")
        python = python or shutil.which("python3.11") or sys.executable
        for cmd in ([python, "-m", "venv", str(venv)],
                    [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                     f"label-studio=={VERSION}"]):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise LabelStudioError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr[-2000:]}")
        (venv / MARKER).write_text(VERSION)
    return venv


def environment(data_dir: Path, username: str, password: str, token: str) -> dict[str, str]:
    """The env of every Label Studio process we run (docker-compose.yml sets the same)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CURATOR_", "VIRTUAL_ENV"))}
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": password,
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_USE_DEFAULT_BANNED_SUBNETS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "DJANGO_DB": "sqlite",
    })
    return env


@dataclass
class Credentials:
    username: str = "admin@example.com"
    password: str = "change-me-please"
    token: str = "curator-dev-token"


def init_data_dir(venv: Path, data_dir: Path, creds: Credentials) -> Path:
    """Migrate a fresh data dir and create the admin with its token (~40 s); a no-op when done."""
    data_dir = Path(data_dir)
    if (data_dir / MARKER).exists():
        return data_dir
    with _file_lock(data_dir.parent / f".{data_dir.name}.lock"):
        if (data_dir / MARKER).exists():
            return data_dir
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        _say(f"preparing data dir {data_dir} (migrations, about 40 s)")
        env = environment(data_dir, creds.username, creds.password, creds.token)
        proc = subprocess.run([str(venv / "bin" / "label-studio"), "init", "--no-browser",
                               "--enable-legacy-api-token"], env=env, capture_output=True, text=True,
                              cwd=data_dir)
        if proc.returncode != 0:
            raise LabelStudioError(f"`label-studio init` failed ({proc.returncode}): {proc.stderr[-2000:]}")
        (data_dir / MARKER).write_text(VERSION)
    return data_dir


@dataclass
class Server:
    """A running Label Studio process (ours, in its own process group)."""

    url: str
    port: int
    pid: int
    data_dir: Path
    token: str
    log: Path

    def stop(self, timeout: float = 15.0) -> None:
        stop_pid(self.pid, timeout)


def stop_pid(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        try:  # reap it when it is our child
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            pass
        time.sleep(0.2)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start(venv: Path, data_dir: Path, creds: Credentials, port: int | None = None,
          timeout: float = 180.0) -> Server:
    """Start ``label-studio start`` on 127.0.0.1 and wait for ``/health``."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(data_dir) / "server.log"
    env = environment(Path(data_dir), creds.username, creds.password, creds.token)
    with open(log, "ab") as sink:
        proc = subprocess.Popen(
            [str(venv / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
             "--port", str(port), "--enable-legacy-api-token"],
            env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=data_dir,
            start_new_session=True)
    server = Server(url=url, port=port, pid=proc.pid, data_dir=Path(data_dir), token=creds.token, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabelStudioError(f"label-studio exited {proc.returncode}; log {log}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.stop()
    raise LabelStudioError(f"label-studio did not answer {url}/health within {timeout:.0f} s; log {log}")


def copy_template(template: Path, target: Path) -> Path:
    """A per-session data dir from a prepared one: a start then takes seconds, not a minute."""
    shutil.copytree(template, target, ignore=shutil.ignore_patterns("server.log", "*.pid"))
    return target
