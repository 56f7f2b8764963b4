"""Importing this module registers every operation (one module per group)."""

from . import dedup, ingest, keys, review, service, stats, training, versions  # noqa: F401
