"""The configured embeddings backend, with synthesis's PII policy in front of the endpoint: text
leaves for an embeddings provider under the same rules as for a chat model (``redact`` sends
placeholders, ``block`` sends nothing for a text with PII, ``allow`` sends it as is). Here, not in
``curator.dedup``, because synthesis already imports dedup (no import cycle)."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..dedup.embed import Embedder, EndpointEmbedder, LocalEmbedder, endpoint_key
from ..errors import InputError
from .pii import Redactor, apply_policy, require_name_detector


def pii_prepare(policy: str):
    """text → what may be sent (one redactor per text, so equal texts redact alike), or None."""
    def prepare(text: str) -> str | None:
        if policy == "allow":
            return text
        return apply_policy(text, policy, Redactor()).text_to_send
    return prepare


def embedder_from_settings(settings: Settings) -> Embedder | None:
    """The configured backend, or None when ``CURATOR_EMBEDDING_BACKEND`` is ``none``."""
    backend = settings.embedding_backend
    if backend == "none":
        return None
    if not settings.embedding_model:
        raise InputError(f"CURATOR_EMBEDDING_BACKEND={backend} needs CURATOR_EMBEDDING_MODEL (a model name for "
                         "the endpoint, a folder for local)")
    if backend == "local":
        return LocalEmbedder(Path(settings.embedding_model), settings.embedding_batch)
    require_name_detector(settings.pii_policy)  # fail closed before anything is sent
    key = settings.embedding_api_key or settings.openai_api_key
    return EndpointEmbedder(settings.embedding_base_url or settings.openai_base_url, key.get_secret_value(),
                            settings.embedding_model, settings.pii_policy, pii_prepare(settings.pii_policy),
                            settings.embedding_batch, settings.request_timeout, settings.max_retries)


def embedding_key(settings: Settings) -> str | None:
    """The cache key of the configured model (what a version records), without loading it."""
    if settings.embedding_backend == "none" or not settings.embedding_model:
        return None
    if settings.embedding_backend == "local":
        return LocalEmbedder(Path(settings.embedding_model)).key
    return endpoint_key(settings.embedding_model, settings.pii_policy)
