"""Operations: every step of curator defined once (parameters, function, result, role), with
the CLI and the API as thin faces over the registry."""

from .base import Context, JobCancelled, Operation
from .catalogue import all_operations, get

__all__ = ["Context", "JobCancelled", "Operation", "all_operations", "get"]
