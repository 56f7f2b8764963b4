"""The one settings object. Every knob is read from the environment (prefix ``CURATOR_``)
or a ``.env`` file, validated once, and overridden in tests through ``get_settings.cache_clear``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# USD per 1M tokens; a model missing here has no cost (and cannot run under a budget).
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
}

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


PLACEHOLDERS = frozenset({"", "change-me", "changeme", "change-me-please", "curator-dev-token", "secret",
                          "password", "admin", "x", "test", "dev"})
MIN_SECRET_CHARS = 16
SIZE = r"^[0-9]{1,12}(\.[0-9]{1,3})? ?([KMGT]i?B|B)$"  # a DuckDB size, e.g. 1GB or 512 MiB


def placeholder_weakness(value: str) -> str | None:
    """Why ``value`` is no real key (a placeholder), or None."""
    return "it is a placeholder" if value.strip().lower() in PLACEHOLDERS else None


def secret_weakness(value: str) -> str | None:
    """Why ``value`` is too weak to guard a production service, or None."""
    if (placeholder := placeholder_weakness(value)) is not None:
        return placeholder
    if len(value) < MIN_SECRET_CHARS:
        return f"it has {len(value)} characters, fewer than {MIN_SECRET_CHARS}"
    if len(set(value)) < 6:
        return "it repeats too few distinct characters"
    return None


# What prod demands of each secret, and the rule that finds it wanting. The OpenAI key only has
# to be real: local OpenAI-compatible servers accept any key, however short.
_STRONG = ("a strong secret (e.g. `openssl rand -hex 24`)", secret_weakness)
PROD_SECRETS = {"webhook_secret": _STRONG, "session_secret": _STRONG, "label_studio_token": _STRONG,
                "label_studio_password": _STRONG, "openai_api_key": ("a real key", placeholder_weakness)}
# Settings whose refused value an error message must not repeat (a start-up log is no place for it).
SECRET_FIELDS = frozenset(PROD_SECRETS) | {"api_key"}


class Settings(BaseSettings):
    """Runtime configuration of the service, the CLI and the ingest workers."""

    model_config = SettingsConfigDict(env_prefix="CURATOR_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    environment: Literal["dev", "test", "prod"] = Field("dev", description="prod refuses placeholder secrets")
    db: Path = Field(Path("curator.duckdb"), description="DuckDB file holding the whole store")
    state_dir: Path = Field(Path(".curator"), description="uploads and other files the store points at")

    max_record_bytes: int = Field(2 * 1024 * 1024, gt=0, description="larger records are rejected")
    max_upload_bytes: int = Field(200 * 1024 * 1024, gt=0, description="per uploaded file, API only")
    max_upload_request_bytes: int = Field(1024 * 1024 * 1024, gt=0, description="per upload request (all its "
                                          "files together), API only")
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="any other request body (JSON, webhooks, "
                                "the login form), API only")
    workers: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)), ge=1)
    parallel_min_bytes: int = Field(4 * 1024 * 1024, description="below this, parse in-process")
    chunk_bytes: int = Field(8 * 1024 * 1024, gt=0, description="JSONL files are parsed in chunks this big")
    speaker_roles: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SPEAKER_ROLES))

    ray_address: str | None = Field(None, description="Ray cluster for `dedup --engine ray`; None starts Ray locally")

    # OPENAI_* as every OpenAI-compatible tool reads them, when the CURATOR_ ones are unset.
    openai_base_url: str = Field("https://api.openai.com/v1", description="any OpenAI-compatible endpoint",
                                 validation_alias=AliasChoices("CURATOR_OPENAI_BASE_URL", "OPENAI_BASE_URL",
                                                               "openai_base_url"))
    openai_api_key: SecretStr = Field(SecretStr("change-me"), description="prod refuses the placeholder",
                                      validation_alias=AliasChoices("CURATOR_OPENAI_API_KEY", "OPENAI_API_KEY",
                                                                    "openai_api_key"))
    model: str = Field("gpt-4o-mini", description="chat model used by `candidates synthesize`")
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(1024, gt=0, description="completion tokens per request")
    concurrency: int = Field(16, ge=1, le=1024, description="requests in flight at once")
    request_timeout: float = Field(60.0, gt=0, description="seconds per attempt before it is retried")
    max_retries: int = Field(5, ge=0, description="retries on 429/5xx/timeouts, with backoff and Retry-After")
    max_cost_usd: float | None = Field(None, gt=0, description="stop sending new requests past this spend")
    pii_policy: Literal["block", "redact", "allow"] = Field(
        "redact", description="PII in text sent to the model provider: block the chunk, redact it, or allow it")
    pii_ner: Literal["auto", "none"] = Field(
        "auto", description="person-name detection: `auto` uses a spaCy pipeline (CURATOR_PII_SPACY_MODEL, else the "
                            "best installed); `none` is the explicit, logged opt-out (names then leave as they are)")
    pii_spacy_model: str | None = Field(None, description="spaCy pipeline for PII NER, by package name or path "
                                                          "(e.g. en_core_web_lg); unset: the best installed one")
    pii_restore: bool = Field(True, description="under `redact`, put the original values back into stored "
                                                "examples (they never leave this machine); false keeps placeholders")
    prices: dict[str, dict[str, float]] = Field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_PRICES.items()},
                                                description="model -> {input, output} USD per 1M tokens")

    # Embeddings for semantic near-duplicates and the version gate (curator/dedup/embed.py).
    embedding_backend: Literal["none", "openai", "local"] = Field(
        "none", description="none: lexical relations only; openai: any OpenAI-compatible /v1/embeddings endpoint "
                            "(the PII policy applies); local: a model2vec or sentence-transformers model by path")
    embedding_model: str | None = Field(None, description="the endpoint's model name, or the local model's folder")
    embedding_base_url: str | None = Field(None, description="embeddings endpoint; unset: CURATOR_OPENAI_BASE_URL")
    embedding_api_key: SecretStr | None = Field(None, description="its key; unset: CURATOR_OPENAI_API_KEY")
    embedding_batch: int = Field(256, ge=1, le=4096, description="texts per embeddings request or local batch")

    stats_tokenizer: str | None = Field(None, description="local tokenizer.json or model directory for token "
                                                          "lengths in stats; unset: character counts")
    max_seq_len: int = Field(4096, gt=0, le=100_000_000, description="stats count examples longer than this (in the stats unit)")
    stats_cache: bool = Field(True, description="false: recompute character lengths from the messages on every "
                                                "stats call (a cross-check; slow on big stores)")
    sql_max_rows: int = Field(1000, gt=0, description="POST /sql returns at most this many rows")
    sql_max_bytes: int = Field(16 * 1024 * 1024, gt=0, description="POST /sql stops adding rows past this many "
                               "bytes of JSON (the answer says truncated)")
    sql_table_functions: frozenset[str] = Field(frozenset(), description="table functions POST /sql may call; "
                                                "none by default, at most range, generate_series, unnest")
    sql_timeout_s: float = Field(5.0, gt=0, description="POST /sql interrupts a query after this many seconds")
    duckdb_memory_limit: str = Field("1GB", pattern=SIZE, description="the service's DuckDB memory_limit (buffer "
                                     "pool, hash tables, sorts, aggregates; a steward's SQL included): larger work "
                                     "spills to the temp directory or fails with an out-of-memory error")
    duckdb_temp_limit: str = Field("8GB", pattern=SIZE, description="the service's DuckDB max_temp_directory_size: "
                                   "what spilled work may write beside the store")

    url: str | None = Field(None, description="a running curator service (e.g. http://127.0.0.1:8000): the CLI "
                            "sends its commands there; unset, it uses the service that owns CURATOR_DB, if any")
    api_key: SecretStr | None = Field(None, description="the CLI's key for that service (not needed for the "
                                      "service on this machine that owns CURATOR_DB: its service file has a token)")

    host: str = "127.0.0.1"
    port: int = 8000
    webhook_secret: str = Field("change-me", description="shared secret for incoming webhooks")
    session_secret: SecretStr | None = Field(None, description="signs the stats page's login sessions; unset: "
                                             "a random one per service start (logins end on restart)")
    session_ttl_s: int = Field(8 * 3600, gt=0, description="how long a stats page login lasts")
    gil_switch_interval_ms: float = Field(1.0, gt=0, le=100, description="the service's Python thread switch "
                                          "interval (CPython's default is 5): shorter answers requests sooner "
                                          "while a job runs")
    event_streams: int = Field(100, ge=1, le=10_000, description="server-sent event streams (GET /jobs/{id}/events) "
                               "open at once in all; one more is a 429")
    event_streams_per_key: int = Field(10, ge=1, le=10_000, description="such streams one key (or login) may hold "
                                       "open at once; one more is a 429")
    job_nice: int = Field(10, ge=0, le=19, description="the job runner's nice value above the requests' (Linux): "
                          "reads and webhooks get a core first; 0 runs jobs at the service's priority")

    label_studio_url: str = Field("http://127.0.0.1:8080", description="the Label Studio reviewers work in")
    label_studio_token: SecretStr = Field(SecretStr("curator-dev-token"),
                                          description="Label Studio legacy API token of the admin user")
    label_studio_project: str = Field("curator review", description="title of the review project "
                                      "(the adjudication project is this plus ' / adjudication')")
    label_studio_username: str = Field("admin@example.com", description="admin preset by the launcher script")
    label_studio_password: SecretStr = Field(SecretStr("change-me-please"),
                                             description="password of that admin, launcher script only")
    label_studio_venv: Path | None = Field(None, description="Label Studio's own virtualenv "
                                           "(default ~/.cache/curator/label-studio-venv-<version>)")
    review_webhook_url: str | None = Field(None, description="where Label Studio sends annotation events "
                                           "(default http://HOST:PORT/webhooks/label-studio)")
    review_pull_interval: float = Field(300.0, ge=0, description="seconds between the service's reconciliation "
                                        "pulls from Label Studio; 0 turns them off")
    review_min_edit_similarity: float = Field(0.9, ge=0, le=1, description="two edits of one example agree "
                                              "when their normalised edit similarity is at least this")

    @field_validator("speaker_roles")
    @classmethod
    def _roles_known(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {k: v for k, v in value.items() if v not in {"user", "assistant", "system"}}
        if bad:
            raise ValueError(f"speaker_roles may map only to user/assistant/system, got {bad}")
        return {k.strip().lower(): v for k, v in value.items()}

    @field_validator("sql_table_functions")
    @classmethod
    def _harmless_table_functions(cls, value: frozenset[str]) -> frozenset[str]:
        from .readonly_sql import HARMLESS_TABLE_FUNCTIONS

        bad = {v.lower() for v in value} - HARMLESS_TABLE_FUNCTIONS
        if bad:
            raise ValueError(f"sql_table_functions may name only {sorted(HARMLESS_TABLE_FUNCTIONS)}, got {sorted(bad)}")
        return frozenset(v.lower() for v in value)

    @field_validator(*PROD_SECRETS)
    @classmethod
    def _secret_fit_for_prod(cls, value, info):
        """Prod refuses each secret its rule in ``PROD_SECRETS`` finds weak."""
        if info.data.get("environment") == "prod" and value is not None:
            demand, rule = PROD_SECRETS[info.field_name]
            weakness = rule(value.get_secret_value() if isinstance(value, SecretStr) else value)
            if weakness:
                raise ValueError(f"set CURATOR_{info.field_name.upper()} to {demand}: {weakness} "
                                 "(refused when CURATOR_ENVIRONMENT=prod)")
        return value

    @field_validator("prices")
    @classmethod
    def _prices_complete(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        bad = [m for m, p in value.items() if set(p) != {"input", "output"} or min(p.values()) < 0]
        if bad:
            raise ValueError(f"prices for {bad} need exactly non-negative 'input' and 'output' (USD per 1M tokens)")
        return value

    @property
    def webhook_url(self) -> str:
        return self.review_webhook_url or f"http://{self.host}:{self.port}/webhooks/label-studio"

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / "uploads"

    @property
    def inbox_dir(self) -> Path:
        return self.state_dir / "webhook-inbox"


@lru_cache
def get_settings() -> Settings:
    return Settings()
