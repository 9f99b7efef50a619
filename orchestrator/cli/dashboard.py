"""``orchestrate status`` and ``orchestrate graph``: read-only views."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.fleet import FleetOpt, ShardOpt, fleet_request, show_status
from orchestrator.cli.options import CONFIG, DB, ENV, ROOT, TARGET, Scope, formats, shared
from orchestrator.reporting.graph import render_dot, render_graph_text, render_mermaid
from orchestrator.reporting.output import Format, console, write_json, write_text
from orchestrator.reporting.status import (
    dashboard_to_dict,
    render_status_html,
    render_status_markdown,
    render_status_text,
)
from orchestrator.services import make_dashboard, make_plan


@app.command()
@boundary
@shared(
    DB, TARGET, ROOT, CONFIG, ENV, formats(Format.TEXT, Format.JSON, Format.MARKDOWN, Format.HTML)
)
def status(
    scope: Scope,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when anything is pending or changed.")
    ] = False,
    fleet: FleetOpt = None,
    shard: ShardOpt = None,
) -> None:
    """The release manager's dashboard: where every database stands (read-only).

    Example: [bold]orchestrate status --remote --exit-code[/]   ·   [bold]orchestrate status --fleet tenants --remote[/]
    """
    fmt = scope.format
    if fleet is not None:
        fleet_run = fleet_request(
            scope.settings(), fleet, scope.remote, scope.persist_to, shard, engine=scope.engine
        )
        raise typer.Exit(show_status(fleet_run, fmt))
    request = scope.request()
    board = make_dashboard(request)
    if fmt is Format.JSON:
        write_json(dashboard_to_dict(board))
    elif fmt is Format.MARKDOWN:
        write_text(render_status_markdown(board))
    elif fmt is Format.HTML:
        write_text(render_status_html(board, request.settings.root))
    else:
        render_status_text(console(), board)
    raise typer.Exit(1 if exit_code and board.dirty else 0)


@app.command()
@boundary
@shared(DB, ROOT, CONFIG, ENV, formats(Format.MERMAID, Format.DOT, Format.TEXT))
def graph(scope: Scope) -> None:
    """Each database's plan graph (inferred cross-package edges marked) and the database graph.

    Example: [bold]orchestrate graph --db create-something-db --format mermaid[/]
    """
    fmt = scope.format
    plan = make_plan(scope.settings(), scope.env, scope.db)
    render = {
        Format.MERMAID: render_mermaid,
        Format.DOT: render_dot,
        Format.TEXT: render_graph_text,
    }[fmt]
    write_text(render(plan))
