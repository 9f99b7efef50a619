"""``orchestrate apply`` and ``orchestrate unlock``."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.confirm import confirm_remote_apply
from orchestrator.cli.fleet import FleetOpt, ShardOpt, fleet_request, run_apply
from orchestrator.cli.options import (
    CONFIG,
    DB,
    ENV,
    ROOT,
    TARGET,
    Scope,
    formats,
    shared,
    yes,
)
from orchestrator.errors import EXIT_INTERRUPTED, UsageError
from orchestrator.reporting.apply import (
    batches_to_dict,
    progress_display,
    render_dry_run,
    render_summary,
    run_to_dict,
)
from orchestrator.reporting.output import Format, console, write_json
from orchestrator.runner.batches import Refusal
from orchestrator.services import apply_databases, plan_batches, unlock_databases


@app.command()
@boundary
@shared(
    DB,
    TARGET,
    ROOT,
    CONFIG,
    ENV,
    yes("Apply remotely without asking (on a terminal, apply asks first, as wrangler does)."),
    formats(Format.TEXT, Format.JSON),
)
def apply(
    scope: Scope,
    all_: Annotated[bool, typer.Option("--all", help="Every database.")] = False,
    to: Annotated[
        int | None,
        typer.Option("--to", min=1, metavar="NNNN", help="Stop after migration number NNNN."),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, metavar="N", help="Databases at once.")
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop all after one failure.")
    ] = False,
    allow_out_of_order: Annotated[
        bool,
        typer.Option(
            "--allow-out-of-order", help="Apply a pending migration numbered below an applied one."
        ),
    ] = False,
    lock_timeout: Annotated[
        float | None,
        typer.Option("--lock-timeout", metavar="SECONDS", help="How long to wait for a lock."),
    ] = None,
    dry_run_: Annotated[
        bool, typer.Option("--dry-run", help="Print the exact SQL; change nothing.")
    ] = False,
    fleet: FleetOpt = None,
    canary: Annotated[
        int,
        typer.Option(
            "--canary",
            min=0,
            metavar="N",
            help="Fleet: members written first (after the canary list).",
        ),
    ] = 0,
    wave: Annotated[
        str | None, typer.Option("--wave", metavar="N|P%", help="Fleet: members per wave.")
    ] = None,
    max_failures: Annotated[
        int,
        typer.Option(
            "--max-failures", min=0, metavar="N", help="Fleet: stop past this many failed members."
        ),
    ] = 0,
    shard: ShardOpt = None,
    batch: Annotated[
        str,
        typer.Option(
            "--batch",
            help="Remote: 'database' (one guarded write per database) or 'per-migration'.",
        ),
    ] = "database",
) -> None:
    """Apply pending migrations, databases in parallel, each one atomic.

    Example: [bold]orchestrate apply --all[/]   ·   [bold]orchestrate apply --fleet tenants --remote --canary 5 --wave 10%[/]
    """
    fmt = scope.format
    if fleet is not None:
        if all_ or scope.db:
            raise UsageError("--fleet takes the fleet's members: drop --all/--db")
        fleet_run = fleet_request(
            scope.settings(),
            fleet,
            scope.remote,
            scope.persist_to,
            shard,
            jobs=jobs,
            canary=canary,
            wave=wave,
            max_failures=max_failures,
            dry_run=dry_run_,
            engine=scope.engine,
        )
        raise typer.Exit(run_apply(fleet_run, fmt))
    if not all_ and not scope.db:
        raise UsageError("name the databases with --db NAME, or pass --all")
    if batch not in ("database", "per-migration"):
        raise UsageError(f"--batch takes 'database' or 'per-migration' (got {batch!r})")
    settings = scope.settings().with_overrides(
        concurrency=jobs, lock_timeout=lock_timeout, allow_out_of_order=allow_out_of_order or None
    )
    request = scope.request(settings, to=to, fail_fast=fail_fast, batch=batch)
    if dry_run_:
        planned = plan_batches(request)
        write_json(batches_to_dict(planned)) if fmt is Format.JSON else render_dry_run(
            console(), planned
        )
        raise typer.Exit(1 if any(isinstance(b, Refusal) for b in planned.values()) else 0)
    if not confirm_remote_apply(request, scope.yes):
        raise typer.Exit(0)
    with progress_display(console(stderr=True)) as progress:
        run = apply_databases(request, progress)
    write_json(run_to_dict(run)) if fmt is Format.JSON else render_summary(console(), run)
    raise typer.Exit(EXIT_INTERRUPTED if run.interrupted else (0 if run else 1))


@app.command()
@boundary
@shared(DB, TARGET, ROOT, CONFIG, ENV)
def unlock(scope: Scope) -> None:
    """Clear a database's apply lock by hand (after checking nobody is applying).

    Example: [bold]orchestrate unlock --db io-db[/]
    """
    if not scope.db:
        raise UsageError("name the database with --db NAME")
    for line in unlock_databases(scope.request()):
        typer.echo(line)
