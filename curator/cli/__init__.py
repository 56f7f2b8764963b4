"""The ``curator`` command: thin faces over the registered operations (``curator/ops/``). Each
command validates with its operation's parameters model and runs it in-process, or through the
service that owns the store; library errors become one line and exit code 1."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..config import get_settings
from .dedup import dedup_app
from .ingest import candidates_app, ingest
from .keys import keys_app
from .review import review_app
from .service import doctor, init, jobs_app, serve
from .stats import sql, stats
from .training import train, training_app
from .triage import triage_app
from .versions import export, version_app

app = typer.Typer(help="Curate reviewed, versioned fine-tuning datasets.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main(db: Annotated[Optional[Path], typer.Option(help="store file (default $CURATOR_DB or ./curator.duckdb)")] = None,
         server: Annotated[Optional[str], typer.Option(
             "--server", help="send commands to this curator service (default $CURATOR_URL, else the service "
                              "that owns the store, if one runs)")] = None):
    if db is not None:
        os.environ["CURATOR_DB"] = str(db)
    if server is not None:
        os.environ["CURATOR_URL"] = server
    get_settings.cache_clear()


app.command()(init)
app.command()(ingest)
app.add_typer(candidates_app, name="candidates")
app.add_typer(dedup_app, name="dedup")
app.add_typer(triage_app, name="triage")
app.add_typer(review_app, name="review")
app.add_typer(version_app, name="version")
app.command("export")(export)
app.command()(stats)
app.command()(sql)
app.add_typer(keys_app, name="keys")
app.command()(train)
app.add_typer(training_app, name="training")
app.command()(doctor)
app.command()(serve)
app.add_typer(jobs_app, name="jobs")

__all__ = ["app"]
