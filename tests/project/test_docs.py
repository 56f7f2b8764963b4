"""The README stays true: its first command runs the main job, and every CLI command is documented."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from service_fixture import free_port as _free_port
from conftest import REPO, make_env, run_curator
from cli_reference import command_paths
from label_studio_fixture import label_studio  # noqa: F401  (the main job pushes to a real Label Studio)

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", README)


def test_readme_opens_with_the_two_commands():
    first, second = _commands()[:2]
    assert "curator ingest examples/data/*" in first and "curator stats" in first
    assert second == "scripts/test.sh"  # it installs everything itself, chromium included
    script = (REPO / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert 'pip install -q -e ".[dev]"' in script and "apt-get install -y -qq chromium" in script
    assert 'exec .venv/bin/pytest -q -n "$workers" --dist loadfile "$@"' in script
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert second in ci, ".ci/run must call the README's test command verbatim"


MODES = ("local", "service")
RESULTS: dict[str, list] = {}
# What differs between two runs by design: ids, timings, addresses, names of the two projects.
VOLATILE = {"batch_id", "run_id", "ls_project_id", "webhook_id", "id", "url", "title", "seconds", "db", "webhook_url",
            "created_at", "computed_at", "generated_at", "fingerprint", "action"}


def _steps() -> list[list[str]]:
    steps = [s.strip() for s in _commands()[0].split("&&") if ".venv/bin/curator" in s]
    return [shlex.split(step.replace(".venv/bin/curator", "", 1)) for step in steps]


def _expand(args: list[str], root) -> list[str]:
    expanded = []
    for arg in args:
        expanded += sorted(str(p.relative_to(root)) for p in root.glob(arg)) if "*" in arg else [arg]
    return expanded


def _normal(value, root: str):
    if isinstance(value, dict):
        return {k: _normal(v, root) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_normal(v, root) for v in value]
    return value.replace(root, "ROOT") if isinstance(value, str) else value


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_readme_main_job_runs_in_both_modes(mode, tmp_path, label_studio):
    """The README's first command, step by step with --json, in a fresh directory: in-process
    (no service) and through `curator serve --background` (the test session's Label Studio
    stands in for `scripts/label_studio.sh start`). In service mode a reviewer's verdict then
    arrives by webhook while `curator review status` is watched."""
    assert "scripts/label_studio.sh start" in _commands()[0]
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    port = _free_port()
    env = make_env(tmp_path, CURATOR_LABEL_STUDIO_URL=label_studio.url, CURATOR_LABEL_STUDIO_TOKEN=label_studio.token,
                   CURATOR_LABEL_STUDIO_PROJECT=f"readme main job ({mode})", CURATOR_PORT=str(port),
                   CURATOR_REVIEW_PULL_INTERVAL="0")
    outputs = []
    served = False
    try:
        for args in _steps():
            if args[0] == "serve":
                assert args == ["serve", "--background"]
                if mode == "service":
                    started = run_curator(args, env, cwd=tmp_path)
                    assert f"127.0.0.1:{port}" in started.stdout
                    served = True
                continue
            proc = run_curator([*_expand(args, tmp_path), "--json"], env, cwd=tmp_path)
            assert "error" not in proc.stderr.lower(), proc.stderr
            outputs.append([args[:2], json.loads(proc.stdout)])
        stats = outputs[-1][1]
        assert stats["totals"]["documents"] > 0 and stats["totals"]["examples"] > 0 and stats["totals"]["sources"] == 5
        review = json.loads(run_curator(["review", "status", "--json"], env, cwd=tmp_path).stdout)
        assert review["queue"]["pushed"] == review["queue"]["awaiting_review"] > 0 == review["queue"]["candidates"]
        if mode == "service":
            _verdict_by_webhook(env, tmp_path, label_studio)
    finally:
        if served:
            run_curator(["serve", "--stop"], env, cwd=tmp_path)
    RESULTS[mode] = _normal(outputs, str(tmp_path))


def _verdict_by_webhook(env, root, label_studio) -> None:
    from review_fixture import planned_answer

    jobs = json.loads(run_curator(["jobs", "list", "--json"], env, cwd=root).stdout)
    assert {j["kind"] for j in jobs} >= {"ingest", "candidates.extract", "dedup", "review.setup", "review.push"}
    assert all(j["status"] == "succeeded" and j["actor"].startswith("cli:") for j in jobs)
    task_id, draft = json.loads(run_curator(["sql", "SELECT ls_task_id, draft FROM review_tasks ORDER BY example_id "
                                             "LIMIT 1", "--json"], env, cwd=root).stdout)["rows"][0]
    with label_studio.client() as ls:
        ls.create_annotation(task_id, planned_answer(0, draft)[0], lead_time=12.0)
    deadline = time.monotonic() + 30
    while True:
        status = json.loads(run_curator(["review", "status", "--json"], env, cwd=root).stdout)
        if status["queue"]["review_events"] == 1:
            break
        assert time.monotonic() < deadline, status["queue"]
        time.sleep(0.5)
    assert status["queue"]["approved"] == 1


@pytest.mark.slow
def test_both_modes_print_the_same_json():
    """`--json` through the service is what local mode prints, ids and timings aside."""
    if set(RESULTS) != set(MODES):
        pytest.skip("a mode of the README test did not finish (see its failure)")
    for (step, local), (_, service) in zip(RESULTS["local"], RESULTS["service"]):
        assert local == service, f"curator {' '.join(step)} differs between local and service mode"


def test_every_command_and_subcommand_is_documented_with_help():
    """Like sqlite-utils: each `curator …` command has help text and a section in docs/cli.md (built
    from that help, so it cannot drift), and each top-level command is shown in README.md."""
    import typer

    from curator.cli import app

    paths = list(command_paths(typer.main.get_command(app)))
    reference = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert len(paths) > 30 and ("keys", "revoke") in dict(paths)
    helpless = [" ".join(p) for p, c in paths if not (c.help or c.short_help or "").strip()]
    missing = [" ".join(p) for p, _ in paths if f"\n## curator {' '.join(p)}\n" not in reference]
    not_in_readme = [p[0] for p, _ in paths if len(p) == 1 and f"curator {p[0]}" not in README]
    assert not helpless, f"no help text: {helpless}"
    assert not missing, f"not in docs/cli.md: {missing} (run python scripts/cli_reference.py)"
    assert not not_in_readme, f"not shown in README.md: {not_in_readme}"


def test_cli_reference_is_current():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "cli_reference.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_architecture_page_names_the_import_contracts():
    """docs/architecture.md lists exactly the contracts import-linter checks."""
    import tomllib

    declared = {c["name"] for c in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^- \*\*(.+?)\*\*", page, flags=re.M))
    assert named == declared
