"""A local stand-in for the Hugging Face Hub's HTTP API, enough for ``huggingface_hub``'s own
``create_repo`` + ``upload_folder`` (every file sent inline in the commit, "regular" upload
mode, so neither LFS nor Xet storage is needed). It records every request and the files each
commit carried, so a test can check what the real client sent."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


class Hub:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.repos: dict[str, dict] = {}
        self.commits: list[dict] = []
        self.validated: list[dict] = []  # README metadata the client asked the Hub to validate
        self.url = ""


def _handler(hub: Hub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict | list) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            hub.requests.append({"method": self.command, "path": self.path,
                                 "authorization": self.headers.get("Authorization"), "body": body})
            return body

        def do_GET(self) -> None:  # noqa: N802
            self._record()
            if self.path.startswith("/api/whoami"):
                return self._send(200, {"name": "tester", "type": "user", "orgs": []})
            self._send(404, {"error": f"not here: {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            body = self._record()
            if not (self.headers.get("Authorization") or "").startswith("Bearer "):
                return self._send(401, {"error": "Invalid credentials"})
            path = self.path.split("?")[0]
            if path == "/api/repos/create":
                spec = json.loads(body)
                repo = f"{spec.get('organization') or 'tester'}/{spec['name']}"
                hub.repos[repo] = spec
                return self._send(200, {"url": f"{hub.url}/datasets/{repo}", "name": repo})
            if path == "/api/validate-yaml":  # the real Hub validates a README's metadata before a commit
                import yaml

                meta = yaml.safe_load(json.loads(body)["content"].split("---")[1])
                hub.validated.append(meta)
                ok = isinstance(meta, dict) and "license" in meta
                return self._send(200 if ok else 400, {"errors": [] if ok else [{"message": "no licence"}],
                                                       "warnings": []})
            parts = path.split("/")  # /api/datasets/OWNER/NAME/{preupload,commit}/REV
            if len(parts) >= 7 and parts[2] == "datasets" and parts[5] == "preupload":
                files = json.loads(body)["files"]
                return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                                   "oid": None} for f in files], "commitOid": "0" * 40})
            if len(parts) >= 7 and parts[2] == "datasets" and parts[5] == "commit":
                lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                files = {}
                for line in lines:
                    if line["key"] == "file":
                        files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
                header = next(line["value"] for line in lines if line["key"] == "header")
                oid = hashlib.sha1(body).hexdigest()
                hub.commits.append({"repo": f"{parts[3]}/{parts[4]}", "summary": header.get("summary"),
                                    "files": files, "oid": oid})
                return self._send(200, {"commitUrl": f"{hub.url}/datasets/{parts[3]}/{parts[4]}/commit/{oid}",
                                        "commitOid": oid, "success": True})
            self._send(404, {"error": f"not here: {self.path}"})

    return Handler


@contextmanager
def running() -> Iterator[Hub]:
    hub = Hub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
