"""``orchestrate history``: the most recent ledger rows of one database (read-only)."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.fleet import FleetOpt, ShardOpt, fleet_request, progress
from orchestrator.cli.options import (
    CONFIG,
    ENV,
    MAYBE_ONE_DB,
    ROOT,
    TARGET,
    Scope,
    formats,
    shared,
)
from orchestrator.errors import UsageError
from orchestrator.reporting.history import history_to_dict, render_history
from orchestrator.reporting.output import Format, console, write_json
from orchestrator.services import database_history


@app.command()
@boundary
@shared(MAYBE_ONE_DB, TARGET, ROOT, CONFIG, ENV, formats(Format.TEXT, Format.JSON))
def history(
    scope: Scope,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, metavar="N", help="How many rows.")
    ] = 10,
    fleet: FleetOpt = None,
    shard: ShardOpt = None,
) -> None:
    """Show a database's most recent migrations: when each ran, how long it took,
    whether its file still matches, and the Time Travel bookmark taken before it.
    With --fleet: the fleet's rollouts, how many members each wrote, and the undo command.

    Example: [bold]orchestrate history --db io-db --remote --limit 5[/]   ·   [bold]orchestrate history --fleet tenants --remote[/]
    """
    if fleet is not None:
        if scope.db:
            raise UsageError("--fleet takes the fleet's members: drop --db")
        _fleet_history(scope, fleet, shard)
        return
    if not scope.db:
        raise UsageError("name the database with --db NAME (or a fleet with --fleet NAME)")
    settings = scope.settings()
    found = database_history(settings, scope.one_db, scope.env, scope.target(settings), limit)
    if scope.format is Format.JSON:
        write_json(history_to_dict(found))
    else:
        render_history(console(), found)


def _fleet_history(scope: Scope, fleet: str, shard: str | None) -> None:
    from orchestrator.fleets.undo import fleet_history
    from orchestrator.reporting.undo import history_to_dict as fleet_history_to_dict
    from orchestrator.reporting.undo import render_history as render_fleet_history

    request = fleet_request(
        scope.settings(), fleet, scope.remote, scope.persist_to, shard, engine=scope.engine
    )
    with progress(console(stderr=True)) as watch:
        found = fleet_history(request, watch.hooks)
    if scope.format is Format.JSON:
        write_json(fleet_history_to_dict(found))
    else:
        render_fleet_history(console(), found)
