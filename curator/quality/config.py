"""The filter set as one validated object: which rules run and their bounds, saved with each run."""

from __future__ import annotations

import hashlib
from typing import Literal, Optional

import orjson
from pydantic import BaseModel, ConfigDict, Field

from .. import lengths
from .base import QualityFilter
from .bounds import LengthBounds, PiiPolicy
from .language import Language
from .repetition import Repetition
from .text_rules import EmptyResponse, Placeholders, Refusal, Truncated

RULES: dict[str, str] = {cls.name: cls.description for cls in
                         (EmptyResponse, LengthBounds, Repetition, Placeholders, Truncated, Refusal, Language,
                          PiiPolicy)}
Rule = Literal[tuple(RULES)]  # a closed choice: the CLI, the API's schema and pydantic all name the rules


class QualityConfig(BaseModel):
    """Which rules run and their bounds. Unknown keys and unknown rule names are errors."""

    model_config = ConfigDict(extra="forbid")

    rules: Optional[list[Rule]] = Field(None, description="run only these rules (default: all)")
    skip: list[Rule] = Field(default_factory=list, description="rules not to run")
    languages: list[str] = Field(default_factory=lambda: ["en"], description="allowed response languages")
    min_response_chars: int = Field(3, ge=0, description="letters/digits below which a response is empty")
    min_assistant_tokens: Optional[int] = Field(2, ge=0, description="shortest response, stats tokenizer units")
    max_assistant_tokens: Optional[int] = Field(4096, ge=1, description="longest response, stats tokenizer units")
    max_user_tokens: Optional[int] = Field(16384, ge=1, description="longest prompt, stats tokenizer units")
    pii_max_findings: int = Field(0, ge=0, description="PII findings allowed in a response")
    tokenizer: Optional[str] = Field(None, description="local tokenizer for length units (default: the stats one)")

    @property
    def active(self) -> list[str]:
        return [r for r in (self.rules or RULES) if r not in self.skip]

    @property
    def hash(self) -> str:
        return hashlib.sha256(orjson.dumps(self.model_dump(), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    def filters(self) -> list[QualityFilter]:
        """The active rules, built; the length rule counts with the stats tokenizer (or characters)."""
        ctr = lengths.counter(self.tokenizer)
        count = ctr.count or (lambda texts: [len(t) for t in texts])
        unit = "tokens" if ctr.count else "characters"
        build = {
            "empty": lambda: EmptyResponse(self.min_response_chars),
            "length": lambda: LengthBounds({"assistant": (self.min_assistant_tokens, self.max_assistant_tokens),
                                            "user": (None, self.max_user_tokens)}, count, unit),
            "repetition": Repetition, "placeholder": Placeholders, "truncated": Truncated, "refusal": Refusal,
            "language": lambda: Language(tuple(self.languages)),
            "pii": lambda: PiiPolicy(self.pii_max_findings),
        }
        return [build[name]() for name in self.active]
