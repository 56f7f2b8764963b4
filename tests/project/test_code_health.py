"""Rules a reviewer would otherwise enforce by hand, checked on the package source: short
functions, one error hierarchy, no bare ValueError for a user's mistake."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

from conftest import REPO

PACKAGES = ("curator", "annotation", "trainer")
MAX_FUNCTION_LINES = 60
VALIDATORS = {"field_validator", "model_validator", "validator", "root_validator"}
# Raised and caught inside one module, never shown to a user as such.
INTERNAL = {"curator.api.limits.BodyTooLarge", "curator.ingest.records.RecordError"}


def _sources():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_function_is_longer_than_the_limit():
    long = [f"{path.relative_to(REPO)}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
            for path, tree in _sources() for fn in _functions(tree)
            if fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def _is_validator(fn) -> bool:
    names = {getattr(d.func if isinstance(d, ast.Call) else d, "id", None) or
             getattr(d.func if isinstance(d, ast.Call) else d, "attr", None) for d in fn.decorator_list}
    return bool(names & VALIDATORS)


def test_user_errors_are_curator_errors_not_bare_value_errors():
    """pydantic validators raise ValueError by contract (pydantic wraps it); elsewhere a bad input
    is a CuratorError, so the CLI and the API can tell it from a bug (a RuntimeError stays a bug)."""
    bare = []
    for path, tree in _sources():
        for fn in _functions(tree):
            if _is_validator(fn):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                        getattr(node.exc.func, "id", None) == "ValueError":
                    bare.append(f"{path.relative_to(REPO)}:{node.lineno}")
    allowed = {"curator/ops/base.py", "curator/sqlfiles.py"}  # programming errors at import time
    bare = [b for b in bare if b.split(":")[0] not in allowed]
    assert not bare, f"raise a CuratorError subclass instead: {bare}"


def _exception_classes():
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if info.name.endswith("__main__"):
                continue
            mod = importlib.import_module(info.name)  # the dev extra installs every optional dependency
            for _, cls in inspect.getmembers(mod, inspect.isclass):
                if cls.__module__ == mod.__name__ and issubclass(cls, BaseException):
                    yield f"{cls.__module__}.{cls.__qualname__}", cls


def test_every_exception_class_is_in_the_hierarchy():
    from curator.errors import CuratorError

    outside = [name for name, cls in _exception_classes() if not issubclass(cls, CuratorError) and name not in INTERNAL]
    assert not outside, f"derive these from curator.errors.CuratorError: {outside}"
