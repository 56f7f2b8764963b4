"""Near-duplicate detection: datasketch-compatible MinHash signatures, LSH banding, exact
verification, clusters with a decision per member."""

from .params import DedupParams, IncompatibleSignatures
from .run import DedupReport, run_dedup

__all__ = ["DedupParams", "DedupReport", "IncompatibleSignatures", "run_dedup"]
