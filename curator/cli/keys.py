"""``curator keys create|list|revoke``: API keys, shown once and stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from .dispatch import run
from .output import JsonOpt, err, friendly_errors, out

keys_app = typer.Typer(help="API keys (shown once, stored hashed).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="who or what uses the key")],
                role: Annotated[str, typer.Option(help="reviewer|steward|admin")],
                as_json: JsonOpt = False):
    """Create an API key; the secret is printed once and stored only as a hash."""

    def render(r: dict) -> None:
        out.print(r["key"], highlight=False)
        err.print(f"key {r['name']!r} ({r['role']}) created; it is shown only this once.")

    with friendly_errors():
        run("keys.create", {"name": name, "role": role}, as_json, render)


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False):
    """Every key: name, role, prefix, created, revoked (never the secret)."""

    def render(rows: list) -> None:
        table = Table("name", "role", "prefix", "created", "revoked")
        for r in rows:
            table.add_row(r["name"], r["role"], r["prefix"], str(r["created_at"]), str(r["revoked_at"] or ""))
        out.print(table)

    with friendly_errors():
        run("keys.list", {}, as_json, render)


@keys_app.command("revoke")
def keys_revoke(name: str, as_json: JsonOpt = False):
    """Revoke a key at once; its stats page sessions end with it."""
    with friendly_errors():
        run("keys.revoke", {"name": name}, as_json, lambda r: out.print(f"key {r['name']!r} revoked"))
