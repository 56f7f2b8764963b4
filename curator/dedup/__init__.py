"""Near-duplicate detection: datasketch-compatible MinHash signatures, LSH banding, exact
verification, clusters with a decision per member.

The names below load on first use (PEP 562): the CLI and the operation registry import
``curator.dedup.params`` for their models, and should not pay for numba and scipy to print
``--help`` or send a request to the service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

_WHERE = {"DedupParams": ".params", "IncompatibleSignatures": ".params", "DedupReport": ".run", "run_dedup": ".run"}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from .params import DedupParams, IncompatibleSignatures
    from .run import DedupReport, run_dedup


__getattr__ = lazy_names(__name__, _WHERE)
