"""Write docs/cli.md, the reference of every `curator` command, from the CLI itself (its --help),
the way sqlite-utils keeps docs/cli-reference.rst with cog: the page cannot drift from the code,
and tests/project/test_docs.py fails when it is out of date.

    python scripts/cli_reference.py          # rewrite docs/cli.md
    python scripts/cli_reference.py --check  # exit 1 when docs/cli.md is stale
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["TYPER_USE_RICH"] = "0"  # click's plain help, read when typer loads: no boxes in Markdown

import typer  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "cli.md"
HEADER = ("# `curator` command reference\n\nGenerated from the CLI's own help by `python scripts/cli_reference.py`; "
          "do not edit by hand. The README shows the commands in the order of the main job.\n")


def command_paths(command, prefix: tuple[str, ...] = ()):
    """Every command and subcommand as the words after `curator`, depth first, in declared order."""
    for name, sub in getattr(command, "commands", {}).items():
        path = (*prefix, name)
        yield path, sub
        yield from command_paths(sub, path)


def render() -> str:
    from curator.cli import app

    runner = CliRunner()
    parts = [HEADER]
    for path, _ in command_paths(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"], prog_name="curator", terminal_width=100,
                               max_content_width=100)
        if result.exit_code != 0:
            raise SystemExit(f"curator {' '.join(path)} --help failed: {result.output}")
        help_text = "\n".join(line.rstrip() for line in result.output.strip().splitlines())
        parts.append(f"## curator {' '.join(path)}\n\n```\n{help_text}\n```\n")
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print("docs/cli.md is out of date: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
