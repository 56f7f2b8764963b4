"""Dedup parameters: one small validated object, recorded with every signature and run.

Signatures made with different shingling, seed or ``num_perm`` are different sketches of the
same text; ``key`` names the combination so they are never compared with each other.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import ConflictError

TARGETS = {"documents": "document", "examples": "example"}  # a dedup target and its row kind
EngineName = Literal["local", "ray"]  # where the compute stages run (see ``engines``)
SCHEME = "affine64"  # datasketch >= 2.0 permutation scheme for 64-bit hash values


class DedupParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard at or above which rows are near-duplicates")
    num_perm: int = Field(128, strict=True, ge=16, le=1024, description="MinHash permutations")
    ngram: int = Field(5, strict=True, ge=1, le=64, description="shingle size: words, or bytes when shingle='char'")
    shingle: Literal["word", "char"] = Field("word", description="word n-grams, or character n-grams for short texts")
    seed: int = Field(1, strict=True, ge=0, le=2**32 - 1, description="seed of the permutations (datasketch's seed)")

    @model_validator(mode="after")
    def _sane(self) -> "DedupParams":
        if self.shingle == "char" and self.ngram < 3:
            raise ValueError("character shingles shorter than 3 match almost any two texts; use --ngram 3 or more")
        return self

    @property
    def key(self) -> str:
        """What must match for two signatures to be comparable (not the threshold)."""
        return f"{self.shingle}{self.ngram}-p{self.num_perm}-s{self.seed}-{SCHEME}"

    @property
    def bands_rows(self) -> tuple[int, int]:
        """(bands, rows) chosen by datasketch's own ``MinHashLSH`` optimiser, weighted for recall
        (as ``MinHashLSH(threshold, num_perm, weights=LSH_WEIGHTS)`` would choose them).

        Every candidate is verified exactly, so a false positive costs one merge while a false
        negative is a duplicate missed for good. datasketch's default equal weights pick 9 × 13 at
        0.8 and 128 permutations, which makes a pair at Jaccard 0.8 a candidate with probability
        0.40 (recall 0.72 on tests/dedup/test_dedup_planted.py); these weights pick 17 × 7 (0.98 at 0.8).
        A property, not cached, so ``model_copy(update={"threshold": ...})`` never goes stale.
        """
        return lsh_bands_rows(self.threshold, self.num_perm)


LSH_WEIGHTS = (0.02, 0.98)  # (false positive, false negative) weights for datasketch's optimiser


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """Probability that two signatures of sets with this Jaccard share at least one band."""
    return 1.0 - (1.0 - jaccard ** rows) ** bands


@lru_cache(maxsize=256)
def lsh_bands_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, *LSH_WEIGHTS)


class IncompatibleSignatures(ConflictError):
    """Signatures made with different parameters would be compared: the stored ones conflict
    with the run's parameters (a 409 at the API, one line at the CLI)."""


def check_compatible(a: str, b: str) -> None:
    if a != b:
        raise IncompatibleSignatures(
            f"signatures made with {a} cannot be compared with signatures made with {b}: "
            "re-run `curator dedup` with the same --ngram/--num-perm/--seed/--shingle, or hash anew")
