"""The one settings object. Every knob is read from the environment (prefix ``CURATOR_``)
or a ``.env`` file, validated once, and overridden in tests through ``get_settings.cache_clear``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SPEAKER_ROLES: dict[str, str] = {
    "doctor": "assistant",
    "doctor_2": "assistant",
    "clinician": "assistant",
    "guest_clinician": "assistant",
    "nurse": "assistant",
    "agent": "assistant",
    "assistant": "assistant",
    "support": "assistant",
    "lawyer": "assistant",
    "attorney": "assistant",
    "patient": "user",
    "customer": "user",
    "client": "user",
    "user": "user",
    "caller": "user",
    "guest_family": "user",
    "family": "user",
}


class Settings(BaseSettings):
    """Runtime configuration of the service, the CLI and the ingest workers."""

    model_config = SettingsConfigDict(env_prefix="CURATOR_", env_file=".env", extra="ignore")

    environment: Literal["dev", "test", "prod"] = Field("dev", description="prod refuses placeholder secrets")
    db: Path = Field(Path("curator.duckdb"), description="DuckDB file holding the whole store")
    state_dir: Path = Field(Path(".curator"), description="uploads and other files the store points at")

    max_record_bytes: int = Field(2 * 1024 * 1024, gt=0, description="larger records are rejected")
    max_upload_bytes: int = Field(200 * 1024 * 1024, gt=0, description="per uploaded file, API only")
    workers: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)), ge=1)
    parallel_min_bytes: int = Field(4 * 1024 * 1024, description="below this, parse in-process")
    chunk_bytes: int = Field(8 * 1024 * 1024, gt=0, description="JSONL files are parsed in chunks this big")
    speaker_roles: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SPEAKER_ROLES))

    ray_address: str | None = Field(None, description="Ray cluster for `dedup --engine ray`; None starts Ray locally")

    host: str = "127.0.0.1"
    port: int = 8000
    webhook_secret: str = Field("change-me", description="shared secret for incoming webhooks")

    @field_validator("speaker_roles")
    @classmethod
    def _roles_known(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {k: v for k, v in value.items() if v not in {"user", "assistant", "system"}}
        if bad:
            raise ValueError(f"speaker_roles may map only to user/assistant/system, got {bad}")
        return {k.strip().lower(): v for k, v in value.items()}

    @field_validator("webhook_secret")
    @classmethod
    def _no_placeholder_in_prod(cls, value: str, info) -> str:
        if info.data.get("environment") == "prod" and value == "change-me":
            raise ValueError("set CURATOR_WEBHOOK_SECRET: the placeholder is refused when CURATOR_ENVIRONMENT=prod")
        return value

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / "uploads"


@lru_cache
def get_settings() -> Settings:
    return Settings()
