"""Library exceptions. Each says what went wrong and what to do; the CLI and the API turn
them into one line or a 4xx at the edge, never a traceback."""


class CuratorError(Exception):
    """Base class: the message is meant for the user as is."""


class StoreLockedError(CuratorError):
    """The DuckDB file is held by another process (DuckDB allows one writer)."""


class MigrationError(CuratorError):
    """A schema file failed to apply; the store is left at the previous version."""


class InputError(CuratorError):
    """Bad arguments: unknown format, missing path, bad option value."""


class NotFoundError(CuratorError):
    """The named thing (job, key, run, version) does not exist."""


class ConflictError(CuratorError):
    """The request conflicts with the store's state (a taken name, a finished job)."""


class TooLargeError(CuratorError):
    """A body or file is over its configured limit."""
