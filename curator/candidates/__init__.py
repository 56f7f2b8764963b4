"""Candidate examples: extracted from stored transcripts by recipes (no model needed)."""

from .extract import ExtractReport, extract_candidates
from .recipes import DEFAULT_INSTRUCTION, RECIPES, RecipeOptions

__all__ = ["DEFAULT_INSTRUCTION", "RECIPES", "ExtractReport", "RecipeOptions", "extract_candidates"]
