"""What every command shares: the consoles, the ``--json`` printer, one-line errors, tables and
the progress display that local runs and followed jobs both feed."""

from __future__ import annotations

import sys
import traceback
from contextlib import contextmanager
from typing import Annotated, Iterator

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import CuratorError

err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")]


def emit_json(obj) -> None:
    sys.stdout.write(orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail(message: str, code: int = 1):
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _got(error: dict) -> str:
    """What the refused value was, unless it is a secret (then only its length)."""
    from ..config import SECRET_FIELDS

    value = error.get("input")
    if SECRET_FIELDS & {str(part).lower().removeprefix("curator_") for part in error["loc"]}:
        return f" (got {len(value)} characters, not shown)" if isinstance(value, str) else ""
    return f" (got {value!r})"


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Expected failures (a library error, a refused parameter) become one line and exit code 1;
    anything else is a bug and keeps its traceback, with a hint to report it."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except ValidationError as exc:  # a settings or parameter object refused a value
        fail("; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}{_got(e)}" for e in exc.errors()))
    except CuratorError as exc:
        fail(str(exc))
    except Exception:
        traceback.print_exc()
        err.print("[red]internal error[/red]: this is a bug in curator; please report it with the traceback above",
                  highlight=False)
        raise typer.Exit(2) from None


def table(title: str | None, head: tuple[str, ...], rows) -> Table:
    t = Table(*head, title=title)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    return t


class ProgressDisplay:
    """A rich bar on a terminal (never in ``--json`` output or pipes), fed with (done, total, unit,
    stage) by a local step or by a followed job's events."""

    def __init__(self, label: str, quiet: bool, verbose: bool = False):
        self.label, self.verbose = label, verbose
        self.progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                                 TaskProgressColumn(), TextColumn("{task.completed:,.0f}/{task.fields[of]} {task.fields[unit]}"),
                                 TimeElapsedColumn(), console=err, disable=quiet or not err.is_terminal,
                                 transient=False)
        self.task = None

    def __enter__(self) -> "ProgressDisplay":
        self.progress.__enter__()
        self.task = self.progress.add_task(self.label, total=None, of="?", unit="")
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, done, total=None, unit=None, stage=None) -> None:
        self.progress.update(self.task, completed=done or 0, total=total,
                             description=f"{self.label}: {stage}" if stage else self.label,
                             of="?" if total is None else f"{total:,}", unit=unit or "")

    def log(self, line: str) -> None:
        """A step's log line: shown with ``--verbose`` (on stderr, so ``--json`` stays clean)."""
        if self.verbose:
            self.progress.console.print(line, highlight=False, markup=False)
