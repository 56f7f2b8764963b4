"""The Label Studio adapter without a Label Studio: the SDK stays out of the API process, and
failures the SDK reports before or instead of an answer become one ``LabelStudioAPIError`` that
says what to do."""

from __future__ import annotations

import subprocess
import sys
import time

import jwt
import pytest

from annotation.client import LabelStudio, LabelStudioAPIError
from service_fixture import free_port


def test_the_api_process_never_imports_the_sdk():
    """label-studio-sdk pulls in pandas, opencv and nltk: the service imports it only when a
    review operation talks to Label Studio, never at start or for a webhook delivery."""
    code = ("import sys\n"
            "import curator.api.app, annotation.client, annotation.pull, annotation.push, annotation.parse\n"
            "from curator.config import Settings\n"
            "from curator.ops.errors import status_of\n"
            "curator.api.app.create_app(Settings())\n"
            "assert status_of(annotation.client.LabelStudioAPIError('x')) == 502\n"
            "print(sorted(m for m in sys.modules if m.startswith('label_studio_sdk')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_an_unreachable_label_studio_says_where_it_looked():
    url = f"http://127.0.0.1:{free_port()}"
    with LabelStudio(url, "legacy-token", timeout=5) as client, \
            pytest.raises(LabelStudioAPIError, match="unreachable") as caught:
        client.whoami()
    assert url in str(caught.value) and "CURATOR_LABEL_STUDIO_URL" in str(caught.value)


def test_an_expired_personal_access_token_is_refused_before_any_request():
    claims = {"token_type": "refresh", "exp": int(time.time()) - 60, "user_id": 1}
    expired = jwt.encode(claims, "a signing key of at least thirty-two bytes", algorithm="HS256")
    with pytest.raises(LabelStudioAPIError, match="Personal Access Token") as caught:
        LabelStudio(f"http://127.0.0.1:{free_port()}", expired)
    assert "expired" in str(caught.value) and "CURATOR_LABEL_STUDIO_TOKEN" in str(caught.value)
