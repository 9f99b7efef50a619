"""``init``, ``new``, ``normalize``, ``baseline``, ``adopt`` and ``repair``: bringing a
monorepo under orchestrate and keeping it tidy. Each command calls ``orchestrator.lifecycle``."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.options import (
    CONFIG,
    ENV,
    ONE_DB,
    ROOT,
    TARGET,
    WORKSPACE,
    Scope,
    formats,
    shared,
    yes,
)
from orchestrator.errors import UsageError
from orchestrator.lifecycle.baseline import preview_baseline, record_baseline
from orchestrator.lifecycle.new import create_migration
from orchestrator.lifecycle.normalize import normalize_workspace
from orchestrator.lifecycle.npm import add_npm_scripts, migrate_scripts
from orchestrator.lifecycle.repair import preview_repair, record_repair
from orchestrator.lifecycle.targets import discover_everything, find_database
from orchestrator.lifecycle.workspace_file import init_workspace
from orchestrator.reporting import lifecycle as report
from orchestrator.reporting.output import Format, console, write_json

WRITE = yes("Write; without it, only show what would be written.")
# The word these commands took before -y/--yes: still read, with a warning.
OldWriteOpt = Annotated[bool, typer.Option("--write", hidden=True)]


def confirmed(yes: bool, old_write: bool) -> bool:
    """``--yes``, or the deprecated ``--write`` (said once on stderr)."""
    if old_write:
        typer.echo("warning: --write is now -y/--yes; --write will go away", err=True)
    return yes or old_write


@app.command()
@boundary
@shared(ROOT, CONFIG)
def init(
    scope: Scope,
    npm_scripts: Annotated[
        bool, typer.Option("--npm-scripts", help="Add migrate:* scripts to package.json.")
    ] = False,
) -> None:
    """Write workspace.toml from what discovery found; re-running keeps your edits.

    Example: [bold]orchestrate init --npm-scripts[/]
    """
    settings = scope.settings()
    envs, databases = discover_everything(settings)
    report.render_init(console(), init_workspace(settings, databases))
    if npm_scripts:
        scripts = migrate_scripts(databases, envs)
        report.render_npm(console(), add_npm_scripts(settings.root, scripts))


@app.command()
@boundary
@shared(WORKSPACE)
def new(
    scope: Scope,
    package: Annotated[str, typer.Argument(help="Package path or name, e.g. packages/io or io.")],
    title: Annotated[str, typer.Argument(help='What it does, e.g. "add user plugins".')],
    binding: Annotated[
        str | None,
        typer.Option(
            "--binding", metavar="NAME", help="The D1 binding, when the package has several."
        ),
    ] = None,
) -> None:
    """Create the next migration of a package, numbered across every source of its database.

    Example: [bold]orchestrate new io "add user plugins"[/]
    """
    created = create_migration(scope.settings(), package, title, binding, scope.env)
    typer.echo(report.shown_path(created.path))
    after = f" (after {created.previous})" if created.previous else ""
    typer.echo(f"{created.number:04d} is the next number of {created.database}{after}", err=True)


@app.command()
@boundary
@shared(
    TARGET, ROOT, CONFIG, yes("Rename; without it, only show."), formats(Format.TEXT, Format.JSON)
)
def normalize(
    scope: Scope,
    sync_ledgers: Annotated[
        bool, typer.Option("--sync-ledgers", help="Also add wrangler's ledger rows now.")
    ] = False,
    old_write: OldWriteOpt = False,
) -> None:
    """Rename migrations to 4-digit NNNN_description.sql (git mv when tracked).

    Example: [bold]orchestrate normalize --yes --sync-ledgers --local[/]
    """
    write = confirmed(scope.yes, old_write)
    if sync_ledgers and not write:
        raise UsageError("--sync-ledgers writes to ledgers; pass --yes as well")
    settings = scope.settings()
    target = scope.target(settings) if sync_ledgers else None
    result = normalize_workspace(settings, write, target)
    if scope.format is Format.JSON:
        write_json(report.normalized_to_dict(result, write))
    else:
        report.render_normalized(console(), result, write)
    raise typer.Exit(0 if result else 1)


@app.command()
@boundary
@shared(ONE_DB, TARGET, ROOT, CONFIG, ENV, WRITE, formats(Format.TEXT, Format.JSON))
def baseline(
    scope: Scope,
    to: Annotated[int, typer.Option("--to", metavar="NNNN", help="Record migrations up to NNNN.")],
) -> None:
    """Record migrations up to NNNN as applied without running them (databases migrated by hand).

    Example: [bold]orchestrate baseline --db io-db --to 12 --remote --yes[/]
    """
    settings = scope.settings()
    database = find_database(settings, scope.env, scope.one_db)
    record = record_baseline if scope.yes else preview_baseline
    result = record(scope.target(settings), database, settings, to)
    if scope.format is Format.JSON:
        write_json(report.baseline_to_dict(result))
    else:
        report.render_baseline(console(), result)


@app.command()
@boundary
@shared(
    ONE_DB,
    TARGET,
    ROOT,
    CONFIG,
    ENV,
    yes("Record the baseline; without it, only show."),
    formats(Format.TEXT, Format.JSON),
)
def adopt(scope: Scope, old_write: OldWriteOpt = False) -> None:
    """Infer how far a database without a ledger was migrated by hand, from its schema.

    Example: [bold]orchestrate adopt --db io-db --remote --yes[/]
    """
    write = confirmed(scope.yes, old_write)
    settings = scope.settings()
    database = find_database(settings, scope.env, scope.one_db)
    from orchestrator.lifecycle.adopt import adopt_database  # lazily: it loads the shadow replay

    result = adopt_database(scope.target(settings), database, settings, write)
    if scope.format is Format.JSON:
        write_json(report.adoption_to_dict(result))
    else:
        report.render_adoption(console(), result)
    raise typer.Exit(0 if result.clean else 1)


@app.command()
@boundary
@shared(ONE_DB, TARGET, ROOT, CONFIG, ENV, WRITE, formats(Format.TEXT, Format.JSON))
def repair(
    scope: Scope,
    file: Annotated[
        str | None,
        typer.Option("--file", metavar="FILE", help="Only this migration (path or name)."),
    ] = None,
) -> None:
    """Accept changed migration files after review: record the new checksums, keep the old.

    Example: [bold]orchestrate repair --db io-db --file 009_user_plugins.sql --yes[/]
    """
    settings = scope.settings()
    database = find_database(settings, scope.env, scope.one_db)
    record = record_repair if scope.yes else preview_repair
    result = record(scope.target(settings), database, settings, file)
    if scope.format is Format.JSON:
        write_json(report.repair_to_dict(result))
    else:
        report.render_repair(console(), result)
