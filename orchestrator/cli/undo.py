"""``orchestrate undo``: Time Travel back to before a release (``--db NAME --remote``) or
a fleet rollout (``--fleet NAME --remote``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.confirm import interactive
from orchestrator.cli.fleet import ShardOpt, fleet_request, progress
from orchestrator.cli.options import (
    CONFIG,
    ENV,
    MAYBE_ONE_DB,
    ROOT,
    TARGET,
    Scope,
    formats,
    shared,
    yes,
)
from orchestrator.errors import UsageError
from orchestrator.reporting.output import Format, console, write_json

if TYPE_CHECKING:
    from orchestrator.fleets.undo import UndoReport


@app.command()
@boundary
@shared(
    MAYBE_ONE_DB,
    TARGET,
    ROOT,
    CONFIG,
    ENV,
    yes("Restore without asking (on a terminal, undo asks first)."),
    formats(Format.TEXT, Format.JSON),
)
def undo(
    scope: Scope,
    fleet: Annotated[
        str | None,
        typer.Option("--fleet", metavar="NAME", help="A [fleets.NAME] of workspace.toml."),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            metavar="last|R<n>|POINT",
            help="With --db: the release to undo, 'last' (default), R2 … as history numbers "
            "them, or its restore point.",
        ),
    ] = None,
    rollout: Annotated[
        str | None,
        typer.Option(
            "--rollout",
            metavar="last|TIME",
            help="With --fleet: the rollout to undo, 'last' (default), or its start time as "
            "history prints it (UTC).",
        ),
    ] = None,
    shard: ShardOpt = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, metavar="N", help="Members at once.")
    ] = None,
    dry_run_: Annotated[
        bool, typer.Option("--dry-run", help="Say what it would restore; change nothing.")
    ] = False,
) -> None:
    """Undo a release: restore (Time Travel) a database to before it, or every member of a
    fleet a rollout wrote to the rollout's start.

    The restore also undoes every newer release, and whatever else was written to the
    database since. Fleet members no rollout wrote since are left alone.

    Example: [bold]orchestrate undo --db io-db --remote --dry-run[/]   ·   [bold]orchestrate undo --fleet tenants --remote[/]
    """
    if fleet is not None and scope.db:
        raise UsageError("undo takes --db NAME or --fleet NAME, not both")
    if fleet is None and not scope.db:
        raise UsageError(
            "undo takes a database or a fleet: --db NAME or --fleet NAME",
            hint="`orchestrate history --db NAME --remote` lists a database's releases",
        )
    if fleet is not None:
        if release is not None:
            raise UsageError("--release is for --db; a fleet takes --rollout")
        if scope.env:
            raise UsageError("--env is for --db; a fleet's members are listed in workspace.toml")
        _undo_fleet(scope, fleet, rollout or "last", shard, jobs, dry_run_)
    else:
        if rollout is not None or shard is not None or jobs is not None:
            raise UsageError("--rollout, --shard and --jobs are for --fleet; --db takes --release")
        _undo_database(scope, release or "last", dry_run_)


def _undo_database(scope: Scope, release: str, dry_run: bool) -> None:
    from orchestrator.reporting.restore import render_plan, render_undone, undone_to_dict
    from orchestrator.restore import plan_database_undo, run_database_undo

    settings = scope.settings()
    engine = scope.target(settings)
    plan = plan_database_undo(settings, scope.one_db, scope.env, engine, release)
    if dry_run:
        if scope.format is Format.JSON:
            write_json(undone_to_dict(plan, (), dry_run=True))
        else:
            render_plan(console(), plan, dry_run=True)
        return
    if _asks(scope):
        render_plan(console(stderr=True), plan, dry_run=False)
        _confirm_or_stop(
            f"Restore {scope.one_db} (Time Travel)? Everything written to it since, by any "
            "client, is lost. Continue?"
        )
    outcomes = run_database_undo(engine, plan)
    if scope.format is Format.JSON:
        write_json(undone_to_dict(plan, outcomes, dry_run=False))
    else:
        render_undone(console(), outcomes)
    raise typer.Exit(0 if all(o.ok for o in outcomes) else 1)


def _asks(scope: Scope) -> bool:
    """On a terminal, undo asks before it restores (``-y`` skips the question)."""
    return not scope.yes and interactive()


def _confirm_or_stop(question: str, on_stop: Callable[[], None] | None = None) -> None:
    """Ask ``question`` (default no); on no, say nothing was restored and exit 0."""
    if not typer.confirm(question, default=False, err=True):
        if on_stop is not None:
            on_stop()
        typer.echo("Nothing restored.", err=True)
        raise typer.Exit(0)


def _undo_fleet(
    scope: Scope, fleet: str, rollout: str, shard: str | None, jobs: int | None, dry_run_: bool
) -> None:
    from orchestrator.fleets.undo import plan_undo, run_undo

    request = fleet_request(
        scope.settings(),
        fleet,
        scope.remote,
        scope.persist_to,
        shard,
        jobs=jobs,
        dry_run=dry_run_,
        engine=scope.engine,
    )
    err = console(stderr=True)
    with progress(err, "restored") as watch:
        plan = plan_undo(request, rollout, watch.hooks)
        if plan.touched and not dry_run_ and _asks(scope):
            question = (
                f"About to restore {len(plan.touched):,} member(s) of fleet {fleet!r} to "
                f"{plan.timestamp} (Time Travel). Everything written to them since, by any "
                "client, is lost. Continue?"
            )
            _confirm_or_stop(question, on_stop=plan.close)
        report = run_undo(plan, watch.hooks, watch.ended)
    _show(report, scope.format)
    raise typer.Exit(0 if report else 1)


def _show(report: UndoReport, fmt: Format) -> None:
    from orchestrator.reporting.undo import render_undo, undo_to_dict

    if fmt is Format.JSON:
        write_json(undo_to_dict(report))
    else:
        render_undo(console(), report)
