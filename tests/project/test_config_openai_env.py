"""OPENAI_API_KEY / OPENAI_BASE_URL are honoured as every OpenAI-compatible tool honours them,
and the CURATOR_-prefixed settings win when both are set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from curator.config import Settings


def test_openai_variables_fill_in_for_unset_curator_ones(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env file of the checkout
    for name in ("CURATOR_OPENAI_API_KEY", "CURATOR_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-var")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = Settings()
    assert settings.openai_api_key.get_secret_value() == "sk-from-openai-var"
    assert settings.openai_base_url == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("CURATOR_OPENAI_API_KEY", "sk-curator")
    monkeypatch.setenv("CURATOR_OPENAI_BASE_URL", "http://127.0.0.1:8/v1")
    settings = Settings()
    assert settings.openai_api_key.get_secret_value() == "sk-curator"
    assert settings.openai_base_url == "http://127.0.0.1:8/v1"


def test_prod_refuses_a_placeholder_openai_key_but_not_a_short_one():
    strong = "9f2c1e7a4b6d8e0f3a5c7e9b1d3f5a7c"
    prod = {"environment": "prod", "webhook_secret": strong, "label_studio_token": strong,
            "label_studio_password": strong}
    assert Settings(**prod, openai_api_key="sk-local").openai_api_key.get_secret_value() == "sk-local"
    for placeholder in ("change-me", " Secret "):
        with pytest.raises(ValidationError, match="set CURATOR_OPENAI_API_KEY to a real key: it is a placeholder"):
            Settings(**prod, openai_api_key=placeholder)
    with pytest.raises(ValidationError, match="CURATOR_SESSION_SECRET to a strong secret .*: it has 5 characters"):
        Settings(**prod, openai_api_key="sk-local", session_secret="short")
    assert Settings(environment="dev", openai_api_key="change-me").environment == "dev"
