"""``orchestrate history``: the most recent ledger rows of one database (read-only)."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.options import CONFIG, ENV, ONE_DB, ROOT, TARGET, Scope, formats, shared
from orchestrator.reporting.history import history_to_dict, render_history
from orchestrator.reporting.output import Format, console, write_json
from orchestrator.services import database_history


@app.command()
@boundary
@shared(ONE_DB, TARGET, ROOT, CONFIG, ENV, formats(Format.TEXT, Format.JSON))
def history(
    scope: Scope,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, metavar="N", help="How many rows.")
    ] = 10,
) -> None:
    """Show a database's most recent migrations: when each ran, how long it took,
    whether its file still matches, and the Time Travel bookmark taken before it.

    Example: [bold]orchestrate history --db io-db --remote --limit 5[/]
    """
    settings = scope.settings()
    found = database_history(settings, scope.one_db, scope.env, scope.target(settings), limit)
    if scope.format is Format.JSON:
        write_json(history_to_dict(found))
    else:
        render_history(console(), found)
