"""Ingest: one reader per format, one normalisation, one transaction per file.

``ingest_paths`` and its report load on first use (PEP 562), so the CLI's option choices
(``FORMATS``) do not import every reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

_WHERE = {"FORMATS": ".options", "IngestOptions": ".options", "IngestReport": ".pipeline", "ingest_paths": ".pipeline"}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from .options import FORMATS, IngestOptions
    from .pipeline import IngestReport, ingest_paths


__getattr__ = lazy_names(__name__, _WHERE)
