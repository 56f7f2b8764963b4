"""Near-duplicate detection: datasketch-compatible MinHash signatures, LSH banding, exact
verification, clusters with a decision per member.

The names below load on first use (lazy_loader, PEP 562): the CLI and the operation registry
import ``curator.dedup.params`` for their models, and should not pay for numba and scipy to
print ``--help`` or send a request to the service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "params": ["DedupParams", "IncompatibleSignatures"], "run": ["DedupReport", "run_dedup"]})

if TYPE_CHECKING:
    from .params import DedupParams, IncompatibleSignatures
    from .run import DedupReport, run_dedup
