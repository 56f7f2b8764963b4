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
