"""How a CLI finds the service that owns its store.

``curator serve`` writes ``<db>.service.json`` (mode 0600) beside the DuckDB file: its URL, its
PID and a local token that acts as an admin key for this service run only (it is never stored
in the database and dies with the process). Whoever can read the file could open the store
file itself, so the file's permissions are the trust boundary, as with a Docker socket. A CLI
pointed at that store sends its operations there instead of failing on DuckDB's lock.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import orjson


@dataclass(frozen=True)
class ServiceInfo:
    url: str
    pid: int
    token: str


def path_for(db: Path) -> Path:
    return Path(f"{Path(db).resolve()}.service.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write(db: Path, host: str, port: int) -> ServiceInfo:
    """Announce this process as the store's owner; returns the info with a fresh token."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    info = ServiceInfo(f"http://{shown}:{port}", os.getpid(), "cur_local_" + secrets.token_urlsafe(32))
    target = path_for(db)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps({"url": info.url, "pid": info.pid, "token": info.token}))
    os.replace(tmp, target)
    return info


def read(db: Path) -> ServiceInfo | None:
    """The running owner of ``db``, or None (no file, unreadable, or its process is gone)."""
    try:
        data = orjson.loads(path_for(db).read_bytes())
        info = ServiceInfo(str(data["url"]), int(data["pid"]), str(data["token"]))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return info if _alive(info.pid) else None


def remove(db: Path, info: ServiceInfo) -> None:
    """Withdraw the announcement, if it is still ours."""
    current = read(db)
    if current is not None and current.token == info.token:
        path_for(db).unlink(missing_ok=True)
