"""OPENAI_API_KEY / OPENAI_BASE_URL are honoured as every OpenAI-compatible tool honours them,
and the CURATOR_-prefixed settings win when both are set."""

from __future__ import annotations

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
