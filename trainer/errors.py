"""Trainer exceptions: the message is meant for the user as is (file, field, reason)."""

from curator.errors import CuratorError


class TrainerError(CuratorError):
    """A run cannot start or continue: bad config, bad export, bad chat template, no 4-bit."""
