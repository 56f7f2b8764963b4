"""``curator doctor``: what this installation will actually do, before anyone relies on it.

Chiefly which PII detectors are active (pattern recognizers work offline; names and places
need an NER pipeline the user installs), because a policy of ``redact`` is only as good as its
detectors. Also the store, the model endpoint settings, whether Label Studio answers, and the
optional components. It sends nothing to the model provider.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from .config import Settings
from .store import connect, current_version
from .sqlfiles import migrations

OPTIONAL = {"trainer (pip install -e '.[train]')": ("torch", "transformers", "peft", "bitsandbytes", "trl"),
            "ray engine (pip install -e '.[ray]')": ("ray",)}


def _store(settings: Settings, conn: duckdb.DuckDBPyConnection | None = None) -> dict:
    """The store's schema version, read on ``conn`` (the owner's) or on a read-only connection."""
    path = Path(settings.db)
    if conn is None and not path.exists():
        return {"path": str(path), "exists": False, "hint": "run `curator init`"}
    own = conn is None
    conn = connect(path, read_only=True) if own else conn
    try:
        have, latest = current_version(conn), max((m[0] for m in migrations()), default=0)
    finally:
        if own:
            conn.close()
    return {"path": str(path), "exists": True, "schema_version": have, "latest": latest,
            "hint": None if have == latest else "run `curator init` to migrate"}


def _pii(settings: Settings) -> dict:
    from .errors import CuratorError
    from .synth.pii import INSTALL_HINT, active_detectors, ner_status

    try:
        detectors, ner = active_detectors(), ner_status()
    except CuratorError as e:  # a named pipeline that cannot load, or fails its pinned hash
        return {"policy": settings.pii_policy, "restore_in_examples": settings.pii_restore, "detectors": [],
                "ner_model": settings.pii_spacy_model, "names_detected": False, "opted_out": False, "warning": str(e)}
    if ner["names_detected"]:
        warning = None
    elif ner["opted_out"]:
        warning = "CURATOR_PII_NER=none: person names are NOT detected and leave unredacted (explicit opt-out)"
    elif settings.pii_policy == "allow":
        warning = "no person-name detector is active (policy 'allow' sends text as is)"
    else:
        warning = f"no person-name detector is active: synthesis refuses to send anything; {INSTALL_HINT}"
    return {"policy": settings.pii_policy, "restore_in_examples": settings.pii_restore,
            "detectors": detectors, "ner_model": ner["model"], "names_detected": ner["names_detected"],
            "opted_out": ner["opted_out"], "warning": warning}


def _label_studio(settings: Settings) -> dict:
    """Whether the review tool answers (a 2 s health probe on the configured URL, nothing else)."""
    import httpx

    url = settings.label_studio_url.rstrip("/")
    try:
        healthy = httpx.get(f"{url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        healthy = False
    return {"url": url, "healthy": healthy,
            "hint": None if healthy else "start it with `scripts/label_studio.sh start` (or docker compose)"}


def diagnose(settings: Settings, conn: duckdb.DuckDBPyConnection | None = None) -> dict:
    key = settings.openai_api_key.get_secret_value()
    return {
        "store": _store(settings, conn),
        "model": {"base_url": settings.openai_base_url, "model": settings.model,
                  "api_key_set": key not in ("", "change-me"), "priced": settings.model in settings.prices,
                  "concurrency": settings.concurrency},
        "pii": _pii(settings),
        "label_studio": _label_studio(settings),
        "optional": {name: all(importlib.util.find_spec(m) is not None for m in mods)
                     for name, mods in OPTIONAL.items()},
    }
