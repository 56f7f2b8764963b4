"""The few Label Studio REST endpoints curator speaks, over httpx.

Written on httpx rather than label-studio-sdk 2.x: we call a dozen endpoints, and the SDK brings a
large generated client plus dependencies (opencv, nltk, lxml, jsf, datamodel-code-generator, ...)
for them. Authentication follows the SDK's rules (label_studio_sdk.tokens.client_ext): a
personal access token is a JWT refresh token, exchanged at ``/api/token/refresh/`` for a
short-lived access token sent as ``Bearer`` (refreshed when it expires or a call answers 401);
anything else is a legacy token sent as ``Token``. Every failure becomes one
``LabelStudioAPIError`` naming the method, path, status and Label Studio's own message."""

from __future__ import annotations

import base64
import time
from typing import Any, Iterator

import httpx
import orjson

from curator.errors import CuratorError

WEBHOOK_ACTIONS = ["ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]
SECRET_HEADER = "X-Curator-Webhook-Secret"

NOISY_COLUMNS = ("inner_id", "annotations_results", "annotations_ids", "predictions_score", "predictions_model_versions",
                 "predictions_results", "file_upload", "storage_filename", "created_at", "updated_at", "updated_by",
                 "avg_lead_time", "draft_exists", "total_predictions", "data.origin", "data.pii")


def jwt_claims(token: str) -> dict | None:
    """The claims of a JWT (unverified: only to tell a personal access token from a legacy one
    and to know when an access token expires), None for anything that is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


class TokenAuth(httpx.Auth):
    """Legacy token: ``Authorization: Token …``. Personal access token (a JWT refresh token):
    exchanged for an access token, sent as ``Bearer``, exchanged again when it is about to expire
    or a request answers 401."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        claims = jwt_claims(token)
        self.personal = claims is not None and claims.get("token_type") == "refresh"
        if self.personal and claims.get("exp") and claims["exp"] < time.time():
            raise LabelStudioAPIError("the Label Studio personal access token has expired: create a new one "
                                      "(Account & Settings → Personal Access Token) and set CURATOR_LABEL_STUDIO_TOKEN")
        self.access: str | None = None
        self.expires = 0.0

    def _refresh(self) -> None:
        response = httpx.post(f"{self.url}/api/token/refresh/", json={"refresh": self.token}, timeout=30)
        if response.status_code != 200:
            raise LabelStudioAPIError(f"Label Studio refused the personal access token ({response.status_code}: "
                                      f"{response.text[:300]}); check CURATOR_LABEL_STUDIO_TOKEN")
        self.access = response.json()["access"]
        self.expires = float((jwt_claims(self.access) or {}).get("exp") or time.time() + 60)

    def auth_flow(self, request: httpx.Request):
        if not self.personal:
            request.headers["Authorization"] = f"Token {self.token}"
            yield request
            return
        if self.access is None or self.expires - 30 < time.time():
            self._refresh()
        request.headers["Authorization"] = f"Bearer {self.access}"
        response = yield request
        if response.status_code == 401:
            self._refresh()
            request.headers["Authorization"] = f"Bearer {self.access}"
            yield request


class LabelStudioAPIError(CuratorError):
    """Label Studio refused a call or could not be reached."""


class LabelStudio:
    def __init__(self, url: str, token: str, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout, auth=TokenAuth(self.url, token))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "LabelStudio":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise LabelStudioAPIError(f"Label Studio at {self.url} is unreachable ({exc.__class__.__name__}: "
                                      f"{exc}); start it (scripts/label_studio.sh start) or set "
                                      f"CURATOR_LABEL_STUDIO_URL") from None
        if response.status_code >= 400:
            hint = " (check CURATOR_LABEL_STUDIO_TOKEN)" if response.status_code in (401, 403) else ""
            raise LabelStudioAPIError(f"Label Studio {method} {path} answered {response.status_code}{hint}: "
                                      f"{response.text[:500]}")
        return response.json() if response.content else None

    @staticmethod
    def _results(body) -> list[dict]:
        return body["results"] if isinstance(body, dict) and "results" in body else body

    # projects
    def find_project(self, title: str) -> dict | None:
        page = 1
        while True:
            body = self.call("GET", "/api/projects", params={"page": page, "page_size": 100, "title": title})
            for project in self._results(body):
                if project["title"] == title:
                    return project
            if not (isinstance(body, dict) and body.get("next")):
                return None
            page += 1

    def create_project(self, **fields) -> dict:
        return self.call("POST", "/api/projects", json=fields)

    def update_project(self, project_id: int, **fields) -> dict:
        return self.call("PATCH", f"/api/projects/{project_id}", json=fields)

    def get_project(self, project_id: int) -> dict:
        return self.call("GET", f"/api/projects/{project_id}")

    # tasks
    def import_tasks(self, project_id: int, tasks: list[dict]) -> dict:
        return self.call("POST", f"/api/projects/{project_id}/import", json=tasks,
                         params={"return_task_ids": "true", "commit_to_project": "true"})

    def iter_tasks(self, project_id: int, page_size: int = 1000) -> Iterator[dict]:
        """Every task of a project with its data (ids and example ids; no annotations)."""
        page = 1
        while True:
            try:
                body = self.call("GET", "/api/tasks", params={"project": project_id, "page": page,
                                                              "page_size": page_size, "fields": "all"})
            except LabelStudioAPIError as exc:
                if " 404" in str(exc):  # past the last page
                    return
                raise
            tasks = body["tasks"] if isinstance(body, dict) else body
            yield from tasks
            if len(tasks) < page_size:
                return
            page += 1

    def export(self, project_id: int) -> list[dict]:
        """Every task with at least one annotation, annotations included (the reconciliation source)."""
        return self.call("GET", f"/api/projects/{project_id}/export",
                         params={"exportType": "JSON", "download_all_tasks": "false"})

    def export_snapshot(self, project_id: int, poll: float = 0.5, timeout: float = 3600.0) -> list[dict]:
        """Tasks with annotations through an export snapshot (create, poll, download, delete): Label
        Studio builds it in the background, so a large project never holds one request open the
        way the synchronous ``/export`` does."""
        path = f"/api/projects/{project_id}/exports/"
        snap = self.call("POST", path, json={"title": "curator review pull",
                                             "task_filter_options": {"only_with_annotations": True}})
        deadline = time.monotonic() + timeout
        try:
            while snap.get("status") != "completed":
                if snap.get("status") == "failed":
                    raise LabelStudioAPIError(f"Label Studio export snapshot {snap['id']} of project {project_id} failed")
                if time.monotonic() > deadline:
                    raise LabelStudioAPIError(f"Label Studio export snapshot {snap['id']} of project {project_id} "
                                              f"not ready after {timeout:.0f} s (status {snap.get('status')})")
                time.sleep(poll)
                snap = self.call("GET", f"{path}{snap['id']}")
            return self.call("GET", f"{path}{snap['id']}/download", params={"exportType": "JSON"})
        finally:
            try:
                self.call("DELETE", f"{path}{snap['id']}")
            except LabelStudioAPIError:
                pass  # a snapshot left behind costs disk in Label Studio, not correctness here

    # annotations
    def create_annotation(self, task_id: int, result: list[dict], lead_time: float | None = None) -> dict:
        body: dict = {"result": result}
        if lead_time is not None:
            body["lead_time"] = lead_time
        return self.call("POST", f"/api/tasks/{task_id}/annotations", json=body)

    def update_annotation(self, annotation_id: int, result: list[dict]) -> dict:
        return self.call("PATCH", f"/api/annotations/{annotation_id}", json={"result": result})

    def delete_annotation(self, annotation_id: int) -> None:
        self.call("DELETE", f"/api/annotations/{annotation_id}")

    # users
    def users(self) -> list[dict]:
        return self._results(self.call("GET", "/api/users", params={"page_size": 1000}))

    def whoami(self) -> dict:
        return self.call("GET", "/api/current-user/whoami")

    # webhooks
    def ensure_webhook(self, project_id: int, url: str, secret: str) -> int:
        """One webhook per project to ``url``: updated in place when it exists."""
        fields = {"project": project_id, "url": url, "send_payload": True, "send_for_all_actions": False,
                  "actions": WEBHOOK_ACTIONS, "headers": {SECRET_HEADER: secret}, "is_active": True}
        for hook in self._results(self.call("GET", "/api/webhooks", params={"project": project_id})):
            if hook.get("project") == project_id:
                return self.call("PATCH", f"/api/webhooks/{hook['id']}", json=fields)["id"]
        return self.call("POST", "/api/webhooks", json=fields)["id"]

    # data manager views
    def hide_columns(self, project_id: int, columns: list[str], title: str = "Review queue") -> int:
        """Hide task data columns (the HTML fields the labeling screen renders) from every task
        list view of the project, creating one when there is none: Label Studio shows each data
        field as a column, raw markup included."""
        ids = [f"tasks:data.{c}" for c in columns]
        views = self._results(self.call("GET", "/api/dm/views", params={"project": project_id}))
        if not views:  # the system columns Label Studio's own first view hides, too
            noise = [f"tasks:{c}" for c in NOISY_COLUMNS]
            views = [self.call("POST", "/api/dm/views", json={"project": project_id, "data": {
                "title": title, "type": "list", "target": "tasks",
                "hiddenColumns": {"explore": noise, "labeling": noise}}})]
        for view in views:
            data = dict(view.get("data") or {})
            hidden = dict(data.get("hiddenColumns") or {})
            for mode in ("explore", "labeling"):
                hidden[mode] = sorted(set(hidden.get(mode) or []) | set(ids))
            data["hiddenColumns"] = hidden
            self.call("PATCH", f"/api/dm/views/{view['id']}", json={"project": project_id, "data": data})
        return len(views)
