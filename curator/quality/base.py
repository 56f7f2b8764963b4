"""What a filter sees (a ``Sample``), what it answers (a ``Flag`` or ``None``), and its base class."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Flag:
    """Why one rule would keep an example from review: the rule, a sentence a reviewer can read,
    and the measured value that crossed the rule's bound (so thresholds can be tuned on data)."""

    rule: str
    reason: str
    value: Any = None

    def as_dict(self) -> dict:
        return {"rule": self.rule, "reason": self.reason, "value": self.value}


@dataclass
class Sample:
    """One example as the filters read it: its messages, and the texts of each role joined."""

    id: int
    source: str
    messages: list[dict]
    pii_findings: list[dict] | None = None
    metadata: dict = field(default_factory=dict)

    def text(self, role: str) -> str:
        return "\n\n".join(str(m.get("content") or "") for m in self.messages if m.get("role") == role)

    @property
    def response(self) -> str:
        """The last assistant turn: the part a reviewer judges and the model learns to say."""
        turns = [m for m in self.messages if m.get("role") == "assistant"]
        return str(turns[-1].get("content") or "") if turns else ""


class QualityFilter:
    """One rule. ``check`` returns ``None`` to keep the example or a ``Flag`` saying why not."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def check(self, sample: Sample) -> Flag | None:  # pragma: no cover - interface
        raise NotImplementedError

    def flag(self, reason: str, value: Any = None) -> Flag:
        return Flag(self.name, reason, value)
