"""A real Label Studio for the test session: its virtualenv is created when missing (CI starts
from nothing; later runs on the same machine reuse ~/.cache/curator), a data dir prepared once
per version is copied, and one server is started on a free loopback port and stopped at the end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from annotation import server
from annotation.client import LabelStudio
from annotation.users import invite_reviewer

CACHE = Path(os.environ.get("CURATOR_LS_CACHE", Path.home() / ".cache" / "curator"))
CREDS = server.Credentials(username="admin@example.com", password="change-me-please", token="curator-test-token")


class LabelStudioServer:
    def __init__(self, running: server.Server, venv: Path, template: Path):
        self.running, self.venv, self.template = running, venv, template
        self.url, self.token = running.url, running.token
        self._reviewers: dict[str, str] = {}

    def client(self, token: str | None = None) -> LabelStudio:
        return LabelStudio(self.url, token or self.token)

    def reviewer_token(self, email: str) -> str:
        """A second (third, …) Label Studio user, signed up through the invite link; cached."""
        if email not in self._reviewers:
            with self.client() as admin:
                self._reviewers[email] = invite_reviewer(admin, email, "reviewer-Passw0rd-42")
        return self._reviewers[email]


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory) -> Iterator[LabelStudioServer]:
    venv = server.ensure_venv(Path(os.environ["CURATOR_LABEL_STUDIO_VENV"]) if os.environ.get(
        "CURATOR_LABEL_STUDIO_VENV") else CACHE / f"label-studio-venv-{server.VERSION}")
    template = server.init_data_dir(venv, CACHE / f"label-studio-template-{server.VERSION}-{CREDS.token}", CREDS)
    data = server.copy_template(template, tmp_path_factory.mktemp("label-studio") / "data")
    running = server.start(venv, data, CREDS)
    try:
        yield LabelStudioServer(running, venv, template)
    finally:
        running.stop()
