"""`curator serve` as a test starts it: the real process on a free loopback port, owning the store
of an environment, stopped gracefully (or killed) by the test. One helper for every test that
needs the service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


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
            self.proc.wait(60)

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
