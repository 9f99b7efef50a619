"""``orchestrate history``: the most recent ledger rows of one database (read-only)."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.options import (
    EngineOpt,
    EnvOpt,
    FormatOpt,
    PersistOpt,
    RemoteOpt,
    RootOpt,
    check_format,
)
from orchestrator.engines.select import choose_engine
from orchestrator.reporting.history import history_to_dict, render_history
from orchestrator.reporting.output import Format, console, write_json
from orchestrator.services import database_history
from orchestrator.settings import load_settings


@app.command()
@boundary
def history(
    db: Annotated[str, typer.Option("--db", help="The database (name or id).")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many rows.")] = 10,
    root: RootOpt = None,
    env: EnvOpt = None,
    remote: RemoteOpt = False,
    engine: EngineOpt = None,
    persist_to: PersistOpt = None,
    output: FormatOpt = "text",
) -> None:
    """Show a database's most recent migrations: when each ran, how long it took,
    whether its file still matches, and the Time Travel bookmark taken before it.

    Example: [bold]orchestrate history --db io-db --remote --limit 5[/]
    """
    fmt = check_format(output, Format.TEXT, Format.JSON)
    settings = load_settings(root)
    target = choose_engine(settings, remote, engine, persist_to)
    found = database_history(settings, db, env, target, limit)
    write_json(history_to_dict(found)) if fmt is Format.JSON else render_history(console(), found)
