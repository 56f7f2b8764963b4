"""Every operation is defined once and has both faces: a CLI command whose parameters are the
operation's own fields, and an API route at the registered method and path whose documented
response is the operation's result model."""

from __future__ import annotations

import re

import pytest
import typer.main

from curator.api.app import create_app
from curator.cli import app as cli_app
from curator.config import Settings
from curator.ops import all_operations

CLI_ONLY = {"as_json", "verbose", "detach", "fmt", "output",  # how to print, how long to follow: not the operation's business
            "push_to_hub", "public"}  # export's Hub push runs on the user's machine, so the token never reaches the service
OPERATIONS = all_operations()


def _command(path: tuple[str, ...]):
    command = typer.main.get_command(cli_app)
    for word in path:
        commands = getattr(command, "commands", {})
        assert word in commands, f"`curator {' '.join(path)}`: no command {word!r}"
        command = commands[word]
    return command


@pytest.fixture(scope="module")
def openapi(tmp_path_factory):
    root = tmp_path_factory.mktemp("routes")
    return create_app(Settings(db=root / "c.duckdb", state_dir=root / "state")).openapi()


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_has_a_cli_face_with_its_own_fields(name):
    op = OPERATIONS[name]
    command = _command(op.cli)
    names = {p.name for p in command.params}
    fields = set(op.params.model_fields)
    assert names - CLI_ONLY <= fields, f"`curator {' '.join(op.cli)}` takes {names - CLI_ONLY - fields} not in {fields}"
    required = {n for n, f in op.params.model_fields.items() if f.is_required()}
    assert required <= names, f"`curator {' '.join(op.cli)}` cannot set required {required - names}"
    assert "as_json" in names or name in ("serve",), f"`curator {' '.join(op.cli)}` has no --json"


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_has_an_api_route_documented_with_its_result(name, openapi):
    op = OPERATIONS[name]
    route = openapi["paths"].get(op.path, {}).get(op.method.lower())
    assert route is not None, f"no {op.method} {op.path} for {name}"
    schema = route["responses"][str(op.status_code)]["content"]["application/json"]["schema"]
    assert schema.get("$ref", "").rsplit("/", 1)[-1] == op.result.__name__ or schema.get("title") == op.result.__name__
    for field in re.findall(r"{(\w+)}", op.path):
        assert field in op.params.model_fields, f"{op.path}: {{{field}}} is not a parameter of {name}"


def test_operations_cover_every_step_of_the_flow():
    steps = {"ingest", "candidates.extract", "candidates.synthesize", "dedup", "dedup.keep", "dedup.explain",
             "review.setup", "review.push", "review.pull", "review.status", "version.create", "version.approve",
             "version.list", "version.show", "version.diff", "version.leakage", "export", "stats", "sql",
             "keys.create", "keys.list", "keys.revoke", "train", "training.list", "training.show",
             "training.cancel", "doctor"}
    assert steps <= set(OPERATIONS)
    long_running = {"ingest", "candidates.extract", "candidates.synthesize", "dedup", "review.push", "review.pull",
                    "version.create", "version.approve", "export", "train"}
    assert all(OPERATIONS[n].kind == "job" for n in long_running)
    assert all(OPERATIONS[n].kind == "read" for n in ("stats", "sql", "version.list", "review.status"))


def test_cli_validates_with_the_operation_model(cli_env):
    from conftest import run_curator

    proc = run_curator(["dedup", "--threshold", "1.5"], cli_env, check=False)
    assert proc.returncode == 1 and "threshold" in proc.stderr and "Traceback" not in proc.stderr
