"""Dedup parameters: one small validated object, recorded with every signature and run.

Signatures made with different shingling, seed or ``num_perm`` are different sketches of the
same text; ``key`` names the combination so they are never compared with each other.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEME = "affine64"  # datasketch >= 2.0 permutation scheme for 64-bit hash values


class DedupParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard at or above which rows are near-duplicates")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    ngram: int = Field(5, ge=1, le=64, description="shingle size: words, or bytes when shingle='char'")
    shingle: Literal["word", "char"] = Field("word", description="word n-grams, or character n-grams for short texts")
    seed: int = Field(1, ge=0, description="seed of the permutations (datasketch's seed)")

    @model_validator(mode="after")
    def _sane(self) -> "DedupParams":
        if self.shingle == "char" and self.ngram < 3:
            raise ValueError("character shingles shorter than 3 match almost any two texts; use --ngram 3 or more")
        return self

    @property
    def key(self) -> str:
        """What must match for two signatures to be comparable (not the threshold)."""
        return f"{self.shingle}{self.ngram}-p{self.num_perm}-s{self.seed}-{SCHEME}"

    @cached_property
    def bands_rows(self) -> tuple[int, int]:
        """(bands, rows) as datasketch's MinHashLSH chooses them for this threshold, with its
        default equal weights of false positives and false negatives."""
        from datasketch.lsh import _optimal_param

        return _optimal_param(self.threshold, self.num_perm, 0.5, 0.5)


class IncompatibleSignatures(ValueError):
    """Raised when signatures made with different parameters would be compared."""


def check_compatible(a: str, b: str) -> None:
    if a != b:
        raise IncompatibleSignatures(
            f"signatures made with {a} cannot be compared with signatures made with {b}: "
            "re-run `curator dedup` with the same --ngram/--num-perm/--seed/--shingle, or hash anew")
