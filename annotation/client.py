"""Label Studio through its official client, label-studio-sdk 2.x (``label_studio_sdk``).

``LabelStudio`` here is a thin adapter over the SDK's client: the calls curator makes, plain dicts
in and out, one error type. The SDK is imported when a client is made, not with this module: it
pulls in pandas, opencv, nltk and a code generator, and the API process (which imports this module
for ``LabelStudioAPIError``) starts without them; only review operations pay for them.

Authentication is the SDK's own (``label_studio_sdk.tokens.client_ext``): a personal access token
is a JWT refresh token, exchanged at ``/api/token/refresh/`` for a short-lived access token sent as
``Bearer`` and exchanged again once it expires; anything else is a legacy token sent as ``Token``.
Every failure becomes one ``LabelStudioAPIError`` naming the method, path, status and Label
Studio's own message (the request is remembered by an httpx event hook on the SDK's client)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

import httpx
import orjson

from curator.errors import CuratorError

WEBHOOK_ACTIONS = ["ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]
SECRET_HEADER = "X-Curator-Webhook-Secret"

NOISY_COLUMNS = ("inner_id", "annotations_results", "annotations_ids", "predictions_score", "predictions_model_versions",
                 "predictions_results", "file_upload", "storage_filename", "created_at", "updated_at", "updated_by",
                 "avg_lead_time", "draft_exists", "total_predictions", "data.origin", "data.pii")
TOKEN_HINT = ("create a new one (Account & Settings → Personal Access Token) or use a legacy token, and set "
              "CURATOR_LABEL_STUDIO_TOKEN")


class LabelStudioAPIError(CuratorError):
    """Label Studio refused a call or could not be reached."""


def plain(value: Any) -> Any:
    """An SDK model (or a list of them) as the JSON-shaped dicts Label Studio sent."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    # The SDK's models are generated from Label Studio Enterprise's schema; Community's answers
    # differ in places (a list where a string is declared): dump them as sent, without warnings.
    return value.dict(warnings=False) if hasattr(value, "dict") and not isinstance(value, dict) else value


def _body_text(body: Any) -> str:
    text = body if isinstance(body, str) else orjson.dumps(body, default=str).decode()
    return text[:500]


class LabelStudio:
    """The Label Studio calls curator makes, over ``label_studio_sdk.LabelStudio`` (``.sdk``)."""

    def __init__(self, url: str, token: str, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self._last: tuple[str, str] | None = None
        self.http = httpx.Client(timeout=timeout, follow_redirects=True, event_hooks={"request": [self._remember]})
        try:
            with self.errors():
                from label_studio_sdk.client import LabelStudio as SDK

                self.sdk = SDK(base_url=self.url, api_key=token, httpx_client=self.http, timeout=timeout)
        except LabelStudioAPIError:
            self.http.close()
            raise

    def _remember(self, request: httpx.Request) -> None:
        self._last = (request.method, request.url.path)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "LabelStudio":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """SDK and transport failures as one ``LabelStudioAPIError`` that says what to do."""
        from label_studio_sdk.core.api_error import ApiError

        self._last = None
        try:
            yield
        except httpx.TransportError as exc:
            raise LabelStudioAPIError(f"Label Studio at {self.url} is unreachable ({exc.__class__.__name__}: "
                                      f"{exc}); start it (scripts/label_studio.sh start) or set "
                                      f"CURATOR_LABEL_STUDIO_URL") from None
        except ApiError as exc:
            raise self._api_error(exc.status_code, exc.body) from None

    def _api_error(self, status: int | None, body: Any) -> LabelStudioAPIError:
        if self._last is None:  # refused before any request: the SDK's own token check
            return LabelStudioAPIError(f"Label Studio token refused ({status}: {_body_text(body)}); {TOKEN_HINT}")
        method, path = self._last
        hint = " (check CURATOR_LABEL_STUDIO_TOKEN)" if status in (401, 403) else ""
        return LabelStudioAPIError(f"Label Studio {method} {path} answered {status}{hint}: {_body_text(body)}")

    # projects
    def find_project(self, title: str) -> dict | None:
        with self.errors():
            return next((plain(p) for p in self.sdk.projects.list(title=title, page_size=100) if p.title == title),
                        None)

    def create_project(self, **fields) -> dict:
        with self.errors():
            return plain(self.sdk.projects.create(**fields))

    def update_project(self, project_id: int, **fields) -> dict:
        with self.errors():
            return plain(self.sdk.projects.update(project_id, **fields))

    def get_project(self, project_id: int) -> dict:
        with self.errors():
            return plain(self.sdk.projects.get(project_id))

    # tasks
    def import_tasks(self, project_id: int, tasks: list[dict]) -> dict:
        with self.errors():
            return plain(self.sdk.projects.import_tasks(project_id, request=tasks, return_task_ids=True,
                                                        commit_to_project=True))

    def iter_tasks(self, project_id: int, page_size: int = 1000) -> Iterator[dict]:
        """Every task of a project with its data (ids and example ids; no annotations)."""
        with self.errors():
            for task in self.sdk.tasks.list(project=project_id, page_size=page_size, fields="all"):
                yield plain(task)

    def export_snapshot(self, project_id: int, poll: float = 0.5, timeout: float = 3600.0) -> list[dict]:
        """Tasks with annotations through an export snapshot (create, poll, download, delete): Label
        Studio builds it in the background, so a large project never holds one request open the
        way the synchronous ``/export`` does."""
        exports = self.sdk.projects.exports
        with self.errors():
            snap = exports.create(project_id, title="curator review pull",
                                  task_filter_options={"only_with_annotations": True})
        try:
            self._wait_for(project_id, snap, poll, timeout)
            with self.errors():
                data = b"".join(exports.download(project_id, snap.id, export_type="JSON",
                                                 request_options={"chunk_size": 1 << 20}))
            return orjson.loads(data)
        finally:
            try:
                with self.errors():
                    exports.delete(project_id, snap.id)
            except LabelStudioAPIError:
                pass  # a snapshot left behind costs disk in Label Studio, not correctness here

    def _wait_for(self, project_id: int, snap, poll: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while snap.status != "completed":
            if snap.status == "failed":
                raise LabelStudioAPIError(f"Label Studio export snapshot {snap.id} of project {project_id} failed")
            if time.monotonic() > deadline:
                raise LabelStudioAPIError(f"Label Studio export snapshot {snap.id} of project {project_id} "
                                          f"not ready after {timeout:.0f} s (status {snap.status})")
            time.sleep(poll)
            with self.errors():
                snap = self.sdk.projects.exports.get(project_id, snap.id)

    # annotations
    def annotations(self, task_id: int) -> list[dict]:
        with self.errors():
            return plain(self.sdk.annotations.list(task_id))

    def create_annotation(self, task_id: int, result: list[dict], lead_time: float | None = None) -> dict:
        extra = {} if lead_time is None else {"lead_time": lead_time}
        with self.errors():
            return plain(self.sdk.annotations.create(task_id, result=result, **extra))

    def update_annotation(self, annotation_id: int, result: list[dict]) -> dict:
        with self.errors():
            return plain(self.sdk.annotations.update(annotation_id, result=result))

    def delete_annotation(self, annotation_id: int) -> None:
        with self.errors():
            self.sdk.annotations.delete(annotation_id)

    # users
    def users(self) -> list[dict]:
        with self.errors():
            return plain(self.sdk.users.list())

    def whoami(self) -> dict:
        with self.errors():
            return plain(self.sdk.users.whoami())

    def invite_link(self) -> dict:
        """The organisation's invite (``token``, ``invite_url``) a new reviewer signs up with."""
        with self.errors():
            return plain(self.sdk.organizations.invites.get_invite_link())

    # webhooks
    def ensure_webhook(self, project_id: int, url: str, secret: str) -> int:
        """One webhook per project to ``url``: updated in place when it exists."""
        fields = {"url": url, "send_payload": True, "send_for_all_actions": False, "actions": WEBHOOK_ACTIONS,
                  "headers": {SECRET_HEADER: secret}, "is_active": True}
        with self.errors():
            for hook in self.sdk.webhooks.list(project=str(project_id)):
                if hook.project == project_id:
                    return self.sdk.webhooks.update(hook.id, **fields).id
            return self.sdk.webhooks.create(project=project_id, **fields).id

    # data manager views
    def hide_columns(self, project_id: int, columns: list[str], title: str = "Review queue") -> int:
        """Hide task data columns (the HTML fields the labeling screen renders) from every task
        list view of the project, creating one when there is none: Label Studio shows each data
        field as a column, raw markup included."""
        ids = [f"tasks:data.{c}" for c in columns]
        with self.errors():
            views = plain(self.sdk.views.list(project=project_id))
            if not views:  # the system columns Label Studio's own first view hides, too
                noise = [f"tasks:{c}" for c in NOISY_COLUMNS]
                views = [plain(self.sdk.views.create(project=project_id, data={
                    "title": title, "type": "list", "target": "tasks",
                    "hiddenColumns": {"explore": noise, "labeling": noise}}))]
            for view in views:
                data = dict(view.get("data") or {})
                hidden = dict(data.get("hiddenColumns") or {})
                for mode in ("explore", "labeling"):
                    hidden[mode] = sorted(set(hidden.get(mode) or []) | set(ids))
                data["hiddenColumns"] = hidden
                self.sdk.views.update(str(view["id"]), project=project_id, data=data)
        return len(views)
