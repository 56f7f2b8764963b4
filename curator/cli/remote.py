"""The CLI as the service's client: where the service is, how to call an operation over HTTP,
how to follow a job's event stream with the same progress bar, and how files travel (ingest
uploads a directory tree; export downloads and checks every file against the manifest).

A service is used when ``--server``/``CURATOR_URL`` is set or the store's service file names a
live process (``curator/service_file.py``); its token, or ``CURATOR_API_KEY``, authenticates.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel

from .. import service_file
from ..audit import cli_actor
from ..config import Settings
from ..errors import CuratorError
from ..ops import Operation

TERMINAL = ("succeeded", "failed", "cancelled")


class RemoteError(CuratorError):
    """The service refused or failed the operation; ``body`` is its JSON answer."""

    def __init__(self, message: str, status: int, body: dict | None = None):
        super().__init__(message)
        self.status, self.body = status, body or {}


class ServiceUnreachable(CuratorError):
    """No answer from the service's URL."""


@dataclass(frozen=True)
class Service:
    url: str
    key: str | None
    discovered: bool  # from the service file (a stale one falls back to local mode)

    def client(self, timeout: float | None = 60.0) -> httpx.Client:
        headers = {"X-Curator-Actor": cli_actor()}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=httpx.Timeout(timeout, connect=5.0))


def find_service(settings: Settings) -> Service | None:
    """The service this CLI should talk to, or None to run in-process."""
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if settings.url:
        return Service(settings.url.rstrip("/"), key, False)
    info = service_file.read(settings.db)
    if info is None:
        return None
    return Service(info.url, key or info.token, True)


def _detail(response: httpx.Response) -> tuple[str, dict]:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.reason_phrase}: {response.text[:300]}", {}
    if not isinstance(body, dict):
        return str(body), {}
    detail = body.get("detail", body)
    if isinstance(detail, list):  # a 422 from the parameters model
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'value'}: {e.get('msg')}"
                           for e in detail if isinstance(e, dict))
    elif isinstance(detail, dict):
        detail = orjson.dumps(detail).decode()
    return str(detail), body


def check(response: httpx.Response, service: Service) -> httpx.Response:
    if response.status_code == 401:
        hint = ("set CURATOR_API_KEY to a key of yours (an admin creates one with "
                "`curator keys create --name NAME --role steward`)")
        raise RemoteError(f"the service at {service.url} refused the request: {_detail(response)[0]}; {hint}", 401)
    if response.status_code >= 400:
        message, body = _detail(response)
        raise RemoteError(message, response.status_code, body)
    return response


def request(service: Service, method: str, path: str, **kwargs) -> httpx.Response:
    try:
        with service.client(kwargs.pop("timeout", 600.0)) as client:
            return check(client.request(method, path, **kwargs), service)
    except httpx.TransportError as exc:
        raise ServiceUnreachable(f"cannot reach the curator service at {service.url} ({exc.__class__.__name__}); "
                                 "is `curator serve` running?") from None


def encode(op: Operation, params: BaseModel) -> tuple[str, dict]:
    """The operation's URL (path segments filled in) and its request arguments."""
    data = params.model_dump(mode="json")
    fields = [f for f in data if "{" + f + "}" in op.path]
    path = op.path.format(**{f: quote(str(data.pop(f)), safe="") for f in fields})
    for name in op.local_only_fields:
        data.pop(name, None)
    if op.method in ("GET", "DELETE"):
        query = [(k, str(x).lower() if isinstance(x, bool) else str(x))
                 for k, v in data.items() if v is not None for x in (v if isinstance(v, list) else [v])]
        return path, {"params": query}
    return path, {"json": data}


def call(service: Service, op: Operation, params: BaseModel, on_progress: Callable | None = None,
         **extra) -> Any:
    """Run ``op`` on the service and return its result (following the job for writes)."""
    path, args = encode(op, params)
    if op.kind != "job":
        return request(service, op.method, path, **args).json()
    return run_job(service, op.method, path, on_progress, **args, **extra)


def run_job(service: Service, method: str, path: str, on_progress: Callable | None, **args) -> Any:
    headers = {"Prefer": "respond-async", **args.pop("headers", {})}
    response = request(service, method, path, headers=headers, **args)
    if response.status_code != 202:  # answered synchronously (an older service)
        return response.json()
    job = follow(service, response.json()["id"], on_progress)
    if job["status"] == "succeeded":
        return job["result"]
    error = job.get("error") or {}
    raise RemoteError(error.get("detail") or f"job {job['id']} {job['status']}", error.get("status", 500),
                      {k: v for k, v in error.items() if k not in ("status", "type", "detail")})


def follow(service: Service, job_id: int, on_progress: Callable | None = None) -> dict:
    """Read the job's event stream until it ends; Ctrl-C asks the service to cancel it."""
    last: dict = {}
    try:
        with service.client(timeout=120.0) as client, client.stream("GET", f"/jobs/{job_id}/events") as stream:
            if stream.status_code >= 400:
                stream.read()
                check(stream, service)
            for line in stream.iter_lines():
                if not line.startswith("data: "):
                    continue
                last = orjson.loads(line[6:])
                p = last.get("progress") or {}
                if on_progress and p.get("done") is not None:
                    on_progress(p["done"], p.get("total"), p.get("unit"), p.get("stage"))
                elif on_progress and p.get("stage"):
                    on_progress(0, None, None, p["stage"])
                if last.get("status") in TERMINAL:
                    return last
    except KeyboardInterrupt:
        request(service, "POST", f"/jobs/{job_id}/cancel")
        raise CuratorError(f"interrupted: job {job_id} asked to cancel (its open transaction rolls back)") from None
    except httpx.TransportError as exc:
        raise ServiceUnreachable(f"lost the service at {service.url} while following job {job_id} "
                                 f"({exc.__class__.__name__}); see `curator jobs show {job_id}`") from None
    return request(service, "GET", f"/jobs/{job_id}").json() if not last or last.get("status") not in TERMINAL \
        else last


def upload_tree(paths: list[Path], exclude: list[str]) -> tuple[list[str], list[tuple[str, Path]]]:
    """The top-level names and the (name, local file) pairs an ingest upload sends: a file goes as
    its name, a directory as ``dir/relative/path`` for every file the local walk would ingest."""
    from ..ingest.pipeline import expand_paths

    roots: list[str] = []
    files: list[tuple[str, Path]] = []
    for arg in paths:
        root = arg.resolve().name
        if root in roots:
            raise CuratorError(f"two arguments are both named {root!r}; through the service, ingest them in "
                               "separate commands")
        roots.append(root)
        for _arg, found in expand_paths([arg], exclude):
            rel = found.relative_to(arg.resolve()).as_posix() if arg.is_dir() else ""
            files.append((f"{root}/{rel}" if rel else root, found))
    return roots, files


def ingest(service: Service, op: Operation, params: BaseModel, on_progress: Callable | None) -> Any:
    roots, files = upload_tree([Path(p) for p in params.paths], list(params.exclude))
    body = params.model_dump(mode="json") | {"paths": roots}
    handles = [(name, open(path, "rb")) for name, path in files]
    try:
        return run_job(service, "POST", "/ingest", on_progress,
                       data={"params": orjson.dumps(body).decode()},
                       files=[("files", (name, handle, "application/octet-stream")) for name, handle in handles])
    finally:
        for _, handle in handles:
            handle.close()


def download_export(service: Service, manifest: dict, out: Path) -> None:
    """Fetch every file of a finished export beside ``out``, check it against the manifest's
    SHA-256, then move it into place (renames only, as a local export does)."""
    from ..versions import read_manifest

    base = f"/exports/{quote(manifest['ref'], safe='')}/{manifest['format']}"
    staging = out.parent / f".{out.name}.download"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with service.client(timeout=600.0) as client:
            for name in [*manifest["files"], "manifest.json"]:
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with client.stream("GET", f"{base}/{quote(name)}") as stream:
                    if stream.status_code >= 400:
                        stream.read()
                        check(stream, service)
                    with open(target, "wb") as f:
                        for chunk in stream.iter_bytes():
                            f.write(chunk)
        read_manifest(staging, require_approved=False)  # every file's SHA-256 against the manifest
        if out.exists() and not (out / "manifest.json").is_file() and any(out.iterdir()):
            raise CuratorError(f"{out} exists and is not an earlier curator export (no manifest.json); choose an "
                               "empty or new directory")
        old = out.parent / f".{out.name}.old"
        if out.exists():
            out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
