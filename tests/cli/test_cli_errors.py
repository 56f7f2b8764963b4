"""The CLI's error policy: a library error is one line and exit 1, a refused parameter names the
field, anything else is a bug and keeps its traceback (exit 2) with a request to report it."""

from __future__ import annotations

import typer
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from curator.cli.output import friendly_errors
from curator.errors import NotFoundError


class Limits(BaseModel):
    limit: int = Field(gt=0)


def _app(exc_factory) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def run() -> None:
        with friendly_errors():
            exc_factory()

    return app


def _invoke(exc_factory):
    return CliRunner().invoke(_app(exc_factory), [])


def test_a_curator_error_is_one_line():
    def fail():
        raise NotFoundError("no version support@9: `curator version list` shows the versions")

    result = _invoke(fail)
    assert result.exit_code == 1
    assert "error: no version support@9" in result.output and "Traceback" not in result.output


def test_a_refused_parameter_names_its_field():
    result = _invoke(lambda: Limits(limit=0))
    assert result.exit_code == 1 and "limit:" in result.output and "Traceback" not in result.output


def test_a_bug_keeps_its_traceback_even_when_it_is_a_value_error():
    def bug():
        int("not a number")  # a ValueError from a bug, not a user's mistake

    result = _invoke(bug)
    assert result.exit_code == 2
    assert "Traceback" in result.output and "ValueError" in result.output and "please report it" in result.output
