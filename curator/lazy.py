"""Names of a package that load on first use (PEP 562's module ``__getattr__``).

The CLI imports the packages of every step for their parameter models; their implementations
(numba, scipy, the readers) load only when a step runs in this process."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy_names(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``where[name]`` (a submodule, relative to
    ``package``) the first time ``name`` is asked for."""

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(import_module(where[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
