"""Ingest: one reader per format, one normalisation, one transaction per file.

``ingest_paths`` and its report load on first use (lazy_loader, PEP 562), so the CLI's option
choices (``FORMATS``) do not import every reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "options": ["FORMATS", "IngestOptions"], "pipeline": ["IngestReport", "ingest_paths"]})

if TYPE_CHECKING:
    from .options import FORMATS, IngestOptions
    from .pipeline import IngestReport, ingest_paths
