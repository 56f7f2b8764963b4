"""Text embeddings from the backends users have, cached in the store by (model, text hash).

- ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama,
  text-embeddings-inference) through the official client, with the synthesis provider's retry
  policy; the PII policy (``CURATOR_PII_POLICY``) decides what of each text leaves, exactly as for
  synthesis: ``redact`` sends placeholders, ``block`` sends nothing for a text with PII (it gets no
  vector and is counted), ``allow`` sends it as is.
- ``local``: a model folder loaded offline through its library's own loader: a model2vec static
  model (the default choice: no torch in the process, 1,786 texts/s for the tiny test model on
  2 cores including the store writes, ``bench/semantic.py``; a sentence-transformer was not
  measured here), or a sentence-transformers model when the folder's ``modules.json`` names other
  modules than model2vec's StaticEmbedding. Nothing leaves the machine, so no PII policy applies.

Vectors are L2-normalised float32, so a dot product is the cosine. The cache key's model part
names the backend, the model and (for the endpoint) the PII policy, since a redacted text embeds
differently: vectors made under another key are never mixed in.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

import duckdb
import numpy as np
import pyarrow as pa

from ..errors import CuratorError, InputError
from ..sqlfiles import query
from ..store import transaction


class EmbeddingError(CuratorError):
    """The embeddings backend failed or answered something unusable (a 502 at the API)."""


class Embedder(Protocol):
    key: str  # what must match for two vectors to be comparable

    def embed(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """One vector per text, None where the text may not be embedded (PII blocked)."""


def _normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


@dataclass
class LocalEmbedder:
    """A model folder, loaded offline (``HF_HUB_OFFLINE``): never a download at run time."""

    path: Path
    batch: int = 256
    key: str = ""
    _model: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_dir():
            raise InputError(f"embedding model folder {self.path} does not exist: set CURATOR_EMBEDDING_MODEL "
                             "to a local model2vec or sentence-transformers folder")
        digest = hashlib.sha256()
        for f in sorted(p for p in self.path.iterdir() if p.is_file()):  # the weights name the model, not the path
            digest.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
        self.key = f"local:{self.kind}:{self.path.name}:{digest.hexdigest()[:16]}"

    @property
    def kind(self) -> str:
        """model2vec for its own folders (which also describe themselves to sentence-transformers as
        one StaticEmbedding module); sentence-transformers for any other ``modules.json``."""
        modules = self.path / "modules.json"
        if not modules.exists() or "StaticEmbedding" in modules.read_text(encoding="utf-8"):
            return "model2vec"
        return "sentence-transformers"

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                if self.kind == "model2vec":
                    from model2vec import StaticModel

                    self._model = StaticModel.from_pretrained(str(self.path), normalize=True)
                else:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            except ImportError as exc:
                raise InputError(f"the {self.kind} model at {self.path} needs `pip install -e \".[semantic]\"`: "
                                 f"{exc}") from None
        return self._model

    def embed(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        if not texts:
            return []
        model = self._load()
        if self.kind == "model2vec":
            vectors = model.encode(list(texts), batch_size=self.batch, use_multiprocessing=False)
        else:
            vectors = model.encode(list(texts), batch_size=self.batch, convert_to_numpy=True)
        return list(_normalised(vectors))


def endpoint_key(model: str, pii_policy: str) -> str:
    """A redacted text embeds differently from the original: the policy is part of the key."""
    return f"openai:{model}:pii-{pii_policy}"


@dataclass
class EndpointEmbedder:
    """``POST {base_url}/embeddings`` through the official ``openai`` client. ``prepare`` is the PII
    policy (``curator.synth.embedding`` passes synthesis's): the text to send, or None to send nothing."""

    base_url: str
    api_key: str
    model: str
    pii_policy: str
    prepare: Callable[[str], str | None] = lambda text: text
    batch: int = 256
    timeout: float = 60.0
    max_retries: int = 5
    requests: int = 0
    blocked: int = 0
    key: str = ""

    def __post_init__(self) -> None:
        self.key = endpoint_key(self.model, self.pii_policy)

    def _sendable(self, texts: Sequence[str]) -> list[str | None]:
        out = [self.prepare(t) for t in texts]
        self.blocked += sum(t is None for t in out)
        return [None if t is None else (t or " ") for t in out]  # the API refuses an empty input

    def embed(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        import openai

        sendable = self._sendable(texts)
        order = [k for k, t in enumerate(sendable) if t is not None]
        out: list[np.ndarray | None] = [None] * len(texts)
        client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout,
                               max_retries=self.max_retries)
        with client:
            for start in range(0, len(order), self.batch):
                part = order[start:start + self.batch]
                try:
                    response = client.embeddings.create(model=self.model, input=[sendable[k] for k in part],
                                                        encoding_format="float")
                except openai.APIStatusError as exc:
                    raise EmbeddingError(f"embeddings endpoint {self.base_url} answered {exc.status_code}: "
                                         f"{str(exc.message)[:200]}") from None
                except openai.APIConnectionError as exc:
                    raise EmbeddingError(f"embeddings endpoint {self.base_url} unreachable: {exc}") from None
                self.requests += 1
                data = sorted(response.data, key=lambda d: d.index)
                if len(data) != len(part):
                    raise EmbeddingError(f"embeddings endpoint returned {len(data)} vectors for {len(part)} texts")
                vectors = _normalised(np.array([d.embedding for d in data], dtype=np.float32))
                for k, v in zip(part, vectors):
                    out[k] = v
        return out


class CacheOnly:
    """A model known only by its cache key: vectors are read back from the store, and a text it
    never embedded is an error that says what to do (``hint``)."""

    def __init__(self, key: str, hint: str):
        self.key, self.hint = key, hint

    def embed(self, texts):
        raise InputError(f"{len(texts)} texts were never embedded with {self.key}: {self.hint}")


@dataclass
class EmbedStats:
    texts: int = 0
    distinct: int = 0
    cached: int = 0
    embedded: int = 0
    blocked: int = 0  # texts the PII policy kept from the endpoint: no vector

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def embed_cached(conn: duckdb.DuckDBPyConnection, embedder: Embedder, texts: Sequence[str],
                 chunk: int = 4096) -> tuple[np.ndarray, np.ndarray, EmbedStats]:
    """(float32 [n, dim] normalised, has-vector mask [n], stats): vectors read from the store where
    this model embedded the same text before, the rest embedded and stored, in chunks of
    ``chunk`` distinct texts (each chunk's vectors committed before the next is sent)."""
    stats = EmbedStats(texts=len(texts))
    hashes = [text_hash(t) for t in texts]
    first = {}
    for h, t in zip(hashes, texts):
        first.setdefault(h, t)
    stats.distinct = len(first)
    vectors: dict[str, np.ndarray] = {}
    distinct = list(first)
    for start in range(0, len(distinct), chunk):
        part = distinct[start:start + chunk]
        found = conn.execute(query("semantic.cached_embeddings"), {"model": embedder.key, "hashes": part}).fetchall()
        for h, blob in found:
            vectors[h] = np.frombuffer(blob, dtype="<f4")
        stats.cached += len(found)
        todo = [h for h in part if h not in vectors]
        if not todo:
            continue
        made = embedder.embed([first[h] for h in todo])
        rows = [(h, v) for h, v in zip(todo, made) if v is not None]
        stats.blocked += len(todo) - len(rows)
        stats.embedded += len(rows)
        if rows:
            staged = pa.table({"text_hash": [h for h, _ in rows], "dim": [len(v) for _, v in rows],
                               "vector": [np.asarray(v, dtype="<f4").tobytes() for _, v in rows]})
            with transaction(conn):
                conn.register("staged_embeddings", staged)
                conn.execute(query("semantic.insert_embeddings"), {"model": embedder.key})
                conn.unregister("staged_embeddings")
            vectors.update(rows)
    dims = {len(v) for v in vectors.values()}
    if len(dims) > 1:
        raise EmbeddingError(f"model {embedder.key} gave vectors of sizes {sorted(dims)}: one model, one size")
    dim = dims.pop() if dims else 1
    out = np.zeros((len(texts), dim), dtype=np.float32)
    mask = np.zeros(len(texts), dtype=bool)
    for k, h in enumerate(hashes):
        v = vectors.get(h)
        if v is not None:
            out[k], mask[k] = v, True
    return out, mask, stats
