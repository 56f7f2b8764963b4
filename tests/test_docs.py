"""The README stays true: its first command runs the main job, and every CLI command is documented."""

from __future__ import annotations

import json
import re
import shlex
import shutil

from conftest import REPO, run_curator
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
    assert 'exec .venv/bin/pytest -q "$@"' in script
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert second in ci, ".ci/run must call the README's test command verbatim"


def test_readme_main_job_runs_on_the_bundled_sample(tmp_path, cli_env, label_studio):
    """Runs the curator steps of the first command in a fresh directory (the venv steps are CI's
    job; the test session's Label Studio stands in for `scripts/label_studio.sh start`)."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    env = dict(cli_env, CURATOR_DB=str(tmp_path / "curator.duckdb"), CURATOR_LABEL_STUDIO_URL=label_studio.url,
               CURATOR_LABEL_STUDIO_TOKEN=label_studio.token, CURATOR_LABEL_STUDIO_PROJECT="readme main job")
    assert "scripts/label_studio.sh start" in _commands()[0]
    steps = [s.strip() for s in _commands()[0].split("&&") if ".venv/bin/curator" in s]
    assert steps
    for step in steps:
        args = shlex.split(step.replace(".venv/bin/curator", "", 1))
        expanded = []
        for arg in args:
            expanded += sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob(arg)) if "*" in arg else [arg]
        proc = run_curator(expanded, env, cwd=tmp_path)
        assert "error" not in proc.stderr.lower()
    totals = json.loads(run_curator(["stats", "--json"], env, cwd=tmp_path).stdout)["totals"]
    assert totals["documents"] > 0 and totals["examples"] > 0 and totals["sources"] == 5
    review = json.loads(run_curator(["review", "status", "--json"], env, cwd=tmp_path).stdout)
    assert review["queue"]["pushed"] == review["queue"]["awaiting_review"] > 0 == review["queue"]["candidates"], review


def test_every_cli_command_is_in_the_readme(cli_env):
    help_text = run_curator(["--help"], cli_env).stdout
    commands = re.findall(r"│ (\w+)\s{2,}", help_text)
    assert {"init", "ingest", "stats", "keys", "serve"} <= set(commands)
    for command in commands:
        assert f"curator {command}" in README, f"`curator {command}` is not documented in README.md"
