"""`curator serve` as a test starts it: the real process on a free loopback port, owning the store
of an environment, stopped gracefully (or killed) by the test. One helper for every test that
needs the service."""

from __future__ import annotations

import os
import re
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

ROLES = ("admin", "steward", "reviewer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    log: Path

    def client(self, key: str | None = None, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"} if key else {},
                            timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(180)  # a graceful stop drains the webhook inbox first (the PII scanner may load)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def __enter__(self) -> "Served":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(env: dict[str, str], port: int | None = None, timeout: float = 60.0, log: Path | None = None) -> Served:
    """Start the service and wait for /health; the caller stops it (or uses it as a context manager)."""
    port = port or free_port()
    log = log or Path(env["CURATOR_STATE_DIR"]).parent / f"serve-{time.monotonic_ns()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "curator", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"curator serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return Served(url, proc, log)
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"curator serve did not answer within {timeout:.0f} s:\n{log.read_text()}")
        time.sleep(0.2)


@dataclass
class Service:
    """A served store with one API key per role, made beforehand with the real CLI."""

    url: str
    env: dict[str, str]
    root: Path
    keys: dict[str, str]

    @property
    def uploads(self) -> Path:
        return self.root / "state" / "uploads"

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def as_role(self, role: str) -> httpx.Client:
        return self.client(self.keys[role])

    def batch_dirs(self) -> set[Path]:
        return set(self.uploads.iterdir()) if self.uploads.is_dir() else set()


@contextmanager
def serving_with_keys(root: Path, roles: tuple[str, ...] = ROLES, **env_extra: str) -> Iterator[Service]:
    """Make a key per role with the CLI (before the service holds the store), then serve the store;
    a traceback in the service's log fails the test."""
    from conftest import make_env, run_json

    env = make_env(root, **env_extra)
    keys = {role: run_json(["keys", "create", "--name", role, "--role", role], env)["key"] for role in roles}
    log = root / "server.log"
    with start(env, log=log) as served:
        yield Service(served.url, env, root, keys)
    assert "Traceback" not in log.read_text(), log.read_text()


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "the form carries a hidden CSRF token"
    return found.group(1)


@contextmanager
def logged_in(service: Service, role: str = "steward") -> Iterator[httpx.Client]:
    """A browser-like client holding the page's login cookie (the login form loaded first, as a
    browser would, for its CSRF token); ``client.csrf`` is the session's token from the page."""
    with service.client() as client:
        token = form_token(client.get("/login").text)
        response = client.post("/login", data={"key": service.keys[role], "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303, response.text
        client.csrf = form_token(client.get("/").text) if role != "reviewer" else None
        yield client
