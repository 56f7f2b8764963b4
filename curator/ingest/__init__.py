"""Ingest: one reader per format, one normalisation, one transaction per file."""

from .options import FORMATS, IngestOptions
from .pipeline import IngestReport, ingest_paths

__all__ = ["FORMATS", "IngestOptions", "IngestReport", "ingest_paths"]
