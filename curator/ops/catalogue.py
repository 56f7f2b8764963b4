"""The registry, complete: importing this module registers every operation (one module per group)."""

from ..errors import CuratorError
from . import dedup, inbox, ingest, keys, review, service, stats, training, triage, versions  # noqa: F401  (they register)
from .base import REGISTRY, Operation


def get(name: str) -> Operation:
    try:
        return REGISTRY[name]
    except KeyError:
        raise CuratorError(f"unknown operation {name!r}") from None


def all_operations() -> dict[str, Operation]:
    return dict(REGISTRY)
