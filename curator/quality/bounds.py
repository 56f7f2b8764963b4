"""Length bounds per role and a PII policy: rules that depend on the store's settings."""

from __future__ import annotations

from typing import Callable

from ..errors import InputError
from .base import Flag, QualityFilter, Sample


def scan_messages(messages: list[dict]) -> list[dict]:
    """The PII scan synthesis and review store (imported lazily: presidio and spaCy are heavy)."""
    from ..synth.synthesize import output_findings

    return output_findings(messages)


class LengthBounds(QualityFilter):
    """Per role, at least ``min`` and at most ``max`` units of the stats tokenizer (characters when
    none is set), so a filter and ``curator stats`` agree on what "too long" means."""

    name = "length"
    description = "role text shorter or longer than its bounds, in the stats tokenizer's units"

    def __init__(self, bounds: dict[str, tuple[int | None, int | None]], count: Callable[[list[str]], list[int]],
                 unit: str):
        for role, (low, high) in bounds.items():
            if low is not None and high is not None and low > high:
                raise InputError(f"length: {role} minimum {low} is above its maximum {high}")
        self.bounds, self.count, self.unit = bounds, count, unit

    def check(self, sample: Sample) -> Flag | None:
        roles = [r for r in self.bounds if any(m.get("role") == r for m in sample.messages)]
        for role, n in zip(roles, self.count([sample.text(r) for r in roles])):
            low, high = self.bounds[role]
            if low is not None and n < low:
                return self.flag(f"{role} has {n} {self.unit}, fewer than {low}", n)
            if high is not None and n > high:
                return self.flag(f"{role} has {n} {self.unit}, more than {high}", n)
        return None


class PiiPolicy(QualityFilter):
    """More PII findings in the response than the policy allows. Findings are those the PII scan
    stored with the example; an example never scanned (imported, extracted) is scanned here, since
    "not scanned" is not "clean" (``run_filters`` stores that scan)."""

    name = "pii"
    description = "PII findings in the response above the policy (max findings, optionally of given types)"

    def __init__(self, max_findings: int = 0, types: tuple[str, ...] = ()):
        self.max_findings, self.types = max_findings, tuple(types)

    def check(self, sample: Sample) -> Flag | None:
        if sample.pii_findings is None:
            sample.pii_findings = scan_messages(sample.messages)
        found = [f for f in sample.pii_findings if f.get("role") == "assistant"
                 and (not self.types or f.get("type") in self.types)]
        if len(found) > self.max_findings:
            kinds = sorted({str(f.get("type")) for f in found})
            return self.flag(f"{len(found)} PII finding(s) in the response ({', '.join(kinds)}); "
                             f"policy allows {self.max_findings}", len(found))
        return None
