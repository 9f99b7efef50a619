"""``orchestrate plan``: what would run where, in which order, and what is wrong."""

from __future__ import annotations

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.fleet import FleetOpt, ShardOpt, fleet_request, show_plan
from orchestrator.cli.options import CONFIG, DB, ENV, ROOT, TARGET, Scope, formats, shared
from orchestrator.reporting.output import Format, console, write_json, write_text
from orchestrator.reporting.plan import plan_to_dict, render_plan_markdown, render_plan_text
from orchestrator.services import make_plan


@app.command()
@boundary
@shared(DB, TARGET, ROOT, CONFIG, ENV, formats(Format.TEXT, Format.JSON, Format.MARKDOWN))
def plan(scope: Scope, fleet: FleetOpt = None, shard: ShardOpt = None) -> None:
    """Show each database's migrations in apply order, with their status on the
    target (read-only: a missing ledger means nothing is applied) and problems.

    Example: [bold]orchestrate plan --db io-db --format json[/]   ·   [bold]orchestrate plan --fleet tenants --remote[/]
    """
    fmt, settings = scope.format, scope.settings()
    if fleet is not None:
        fleet_run = fleet_request(
            settings, fleet, scope.remote, scope.persist_to, shard, engine=scope.engine
        )
        raise typer.Exit(show_plan(fleet_run, fmt))
    result = make_plan(settings, scope.env, scope.db, scope.target(settings))
    if fmt is Format.JSON:
        write_json(plan_to_dict(result))
    elif fmt is Format.MARKDOWN:
        write_text(render_plan_markdown(result))
    else:
        render_plan_text(console(), result)
    raise typer.Exit(1 if result.has_errors else 0)
