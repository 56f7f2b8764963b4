"""What can go wrong with a version, each a ``CuratorError`` the CLI prints in one line and the
API turns into a 4xx."""

from __future__ import annotations

from ..errors import CuratorError, InputError


class VersionNotFound(CuratorError):
    """No version of that name and number."""


class VersionImmutable(CuratorError):
    """A change to a version was asked for; versions never change once created."""


class VersionTampered(CuratorError):
    """Stored rows no longer hash to the version's content_hash: someone altered them underneath."""


class LeakageFound(CuratorError):
    """Approval refused: examples in different splits are near-duplicates or share response n-grams."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


class FilterError(InputError):
    """A --where filter that is not one safe boolean expression over the documented columns."""


class UnreviewedTurns(InputError):
    """A version would carry a trained turn that no reviewer saw in an editable box."""

    def __init__(self, found: list[dict], action: str):
        first = found[0]["reason"]
        more = f" (and {len(found) - 1} more: examples {', '.join(str(f['example_id']) for f in found[1:21])}" \
               f"{'…' if len(found) > 21 else ''})" if len(found) > 1 else ""
        super().__init__(f"{action} refused: {first}{more}")
        self.found = found
