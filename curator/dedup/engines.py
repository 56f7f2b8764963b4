"""The three compute stages of dedup behind one interface, so the orchestrator (``run``) is the
same for every engine and the store stays the single source of truth.

``local`` runs the compiled loops on this machine's cores; ``ray`` (``ray_engine``) spreads
the same functions over a Ray cluster for corpora that outgrow one machine.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyarrow as pa

from . import banding
from . import shingles as sh
from ..errors import InputError
from .params import DedupParams, EngineName  # noqa: F401  (EngineName: the choices, re-exported)
from .verify import exact_jaccard


class Engine(Protocol):
    name: str

    def signatures(self, texts: pa.Array, params: DedupParams) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 [n, num_perm], shingle counts [n]) in input order."""

    def candidate_pairs(self, ids: np.ndarray, sig: np.ndarray, params: DedupParams) -> np.ndarray:
        """Distinct sorted pairs [k, 2] of ids (a < b) sharing a band key."""

    def verify(self, pairs: np.ndarray, ids: np.ndarray, texts: pa.Array, params: DedupParams) -> np.ndarray:
        """Exact Jaccard of each pair's shingle sets; ``ids`` (any order) and ``texts`` cover every id in ``pairs``."""


class LocalEngine:
    name = "local"

    def signatures(self, texts, params):
        return sh.signatures(texts, params)

    def candidate_pairs(self, ids, sig, params):
        bands, rows = params.bands_rows
        return banding.candidate_pairs(ids, banding.band_keys(sig, bands, rows))

    def verify(self, pairs, ids, texts, params):
        return exact_jaccard(pairs, ids, texts, params)


def get_engine(name: str, address: str | None = None) -> Engine:
    if name == "local":
        return LocalEngine()
    if name == "ray":
        from .ray_engine import RayEngine

        return RayEngine(address)
    raise InputError(f"unknown dedup engine {name!r}; choose local or ray")
