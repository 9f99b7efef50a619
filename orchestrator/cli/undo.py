"""``orchestrate undo --fleet NAME --remote``: Time Travel back to a rollout's start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.confirm import interactive
from orchestrator.cli.fleet import ShardOpt, fleet_request, progress
from orchestrator.cli.options import ROOT, TARGET, Scope, formats, shared, yes
from orchestrator.errors import UsageError
from orchestrator.reporting.output import Format, console, write_json

if TYPE_CHECKING:
    from orchestrator.fleets.undo import UndoReport


@app.command()
@boundary
@shared(
    TARGET,
    ROOT,
    yes("Restore without asking (on a terminal, undo asks first)."),
    formats(Format.TEXT, Format.JSON),
)
def undo(
    scope: Scope,
    fleet: Annotated[
        str | None,
        typer.Option("--fleet", metavar="NAME", help="A [fleets.NAME] of workspace.toml."),
    ] = None,
    rollout: Annotated[
        str,
        typer.Option(
            "--rollout",
            metavar="last|TIME",
            help="The rollout to undo: 'last', or its start time as history prints it (UTC).",
        ),
    ] = "last",
    shard: ShardOpt = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, metavar="N", help="Members at once.")
    ] = None,
    dry_run_: Annotated[
        bool, typer.Option("--dry-run", help="List the members it would restore; change nothing.")
    ] = False,
) -> None:
    """Undo a fleet rollout: restore (Time Travel) every member it wrote to its start time.

    Members no rollout wrote since then are left alone. The restore also undoes whatever
    else was written to those members since that time.

    Example: [bold]orchestrate undo --fleet tenants --remote --dry-run[/]
    """
    from orchestrator.fleets.undo import plan_undo, run_undo

    if fleet is None:
        raise UsageError(
            "undo takes a fleet: --fleet NAME",
            hint="for one database, `orchestrate history --db NAME --remote` prints its "
            "Time Travel restore command",
        )
    request = fleet_request(
        scope.settings(), fleet, scope.remote, scope.persist_to, shard, jobs=jobs, dry_run=dry_run_
    )
    err = console(stderr=True)
    with progress(err, "restored") as watch:
        plan = plan_undo(request, rollout, watch.hooks)
        if plan.touched and not dry_run_ and not scope.yes and interactive():
            question = (
                f"About to restore {len(plan.touched):,} member(s) of fleet {fleet!r} to "
                f"{plan.timestamp} (Time Travel). Everything written to them since, by any "
                "client, is lost. Continue?"
            )
            if not typer.confirm(question, default=False, err=True):
                plan.close()
                typer.echo("Nothing restored.", err=True)
                raise typer.Exit(0)
        report = run_undo(plan, watch.hooks, watch.ended)
    _show(report, scope.format)
    raise typer.Exit(0 if report else 1)


def _show(report: UndoReport, fmt: Format) -> None:
    from orchestrator.reporting.undo import render_undo, undo_to_dict

    if fmt is Format.JSON:
        write_json(undo_to_dict(report))
    else:
        render_undo(console(), report)
