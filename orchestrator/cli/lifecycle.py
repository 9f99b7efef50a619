"""``init``, ``new``, ``normalize``, ``baseline``, ``adopt`` and ``repair``: bringing a
monorepo under orchestrate and keeping it tidy. Each command calls ``orchestrator.lifecycle``."""

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
from orchestrator.errors import UsageError
from orchestrator.lifecycle.adopt import adopt_database
from orchestrator.lifecycle.baseline import preview_baseline, record_baseline
from orchestrator.lifecycle.new import create_migration
from orchestrator.lifecycle.normalize import normalize_workspace
from orchestrator.lifecycle.npm import add_npm_scripts, migrate_scripts
from orchestrator.lifecycle.repair import preview_repair, record_repair
from orchestrator.lifecycle.targets import discover_everything, find_database
from orchestrator.lifecycle.workspace_file import init_workspace
from orchestrator.reporting import lifecycle as report
from orchestrator.reporting.output import Format, console, write_json
from orchestrator.settings import load_settings

OneDbOpt = Annotated[str, typer.Option("--db", help="The database (name or id).")]
YesOpt = Annotated[bool, typer.Option("--yes", help="Write; without it, only show.")]


@app.command()
@boundary
def init(
    root: RootOpt = None,
    npm_scripts: Annotated[
        bool, typer.Option("--npm-scripts", help="Add migrate:* scripts to package.json.")
    ] = False,
) -> None:
    """Write workspace.toml from what discovery found; re-running keeps your edits.

    Example: [bold]orchestrate init --npm-scripts[/]
    """
    settings = load_settings(root)
    envs, databases = discover_everything(settings)
    report.render_init(console(), init_workspace(settings, databases))
    if npm_scripts:
        scripts = migrate_scripts(databases, envs)
        report.render_npm(console(), add_npm_scripts(settings.root, scripts))


@app.command()
@boundary
def new(
    package: Annotated[str, typer.Argument(help="Package path or name, e.g. packages/io or io.")],
    title: Annotated[str, typer.Argument(help='What it does, e.g. "add user plugins".')],
    binding: Annotated[
        str | None, typer.Option("--binding", help="The D1 binding, when the package has several.")
    ] = None,
    env: EnvOpt = None,
    root: RootOpt = None,
) -> None:
    """Create the next migration of a package, numbered across every source of its database.

    Example: [bold]orchestrate new io "add user plugins"[/]
    """
    created = create_migration(load_settings(root), package, title, binding, env)
    typer.echo(report.shown_path(created.path))
    after = f" (after {created.previous})" if created.previous else ""
    typer.echo(f"{created.number:04d} is the next number of {created.database}{after}", err=True)


@app.command()
@boundary
def normalize(
    root: RootOpt = None,
    write: Annotated[bool, typer.Option("--write", help="Rename; without it, only show.")] = False,
    sync_ledgers: Annotated[
        bool, typer.Option("--sync-ledgers", help="Also add wrangler's ledger rows now.")
    ] = False,
    remote: RemoteOpt = False,
    engine: EngineOpt = None,
    persist_to: PersistOpt = None,
    output: FormatOpt = "text",
) -> None:
    """Rename migrations to 4-digit NNNN_description.sql (git mv when tracked).

    Example: [bold]orchestrate normalize --write --sync-ledgers --local[/]
    """
    fmt = check_format(output, Format.TEXT, Format.JSON)
    if sync_ledgers and not write:
        raise UsageError("--sync-ledgers writes to ledgers; pass --write as well")
    settings = load_settings(root)
    target = choose_engine(settings, remote, engine, persist_to) if sync_ledgers else None
    result = normalize_workspace(settings, write, target)
    if fmt is Format.JSON:
        write_json(report.normalized_to_dict(result, write))
    else:
        report.render_normalized(console(), result, write)
    raise typer.Exit(0 if result else 1)


@app.command()
@boundary
def baseline(
    db: OneDbOpt,
    to: Annotated[int, typer.Option("--to", help="Record migrations up to NNNN.")],
    root: RootOpt = None,
    env: EnvOpt = None,
    remote: RemoteOpt = False,
    engine: EngineOpt = None,
    persist_to: PersistOpt = None,
    yes: YesOpt = False,
    output: FormatOpt = "text",
) -> None:
    """Record migrations up to NNNN as applied without running them (databases migrated by hand).

    Example: [bold]orchestrate baseline --db io-db --to 12 --remote --yes[/]
    """
    fmt = check_format(output, Format.TEXT, Format.JSON)
    settings = load_settings(root)
    database = find_database(settings, env, db)
    target = choose_engine(settings, remote, engine, persist_to)
    record = record_baseline if yes else preview_baseline
    result = record(target, database, settings, to)
    if fmt is Format.JSON:
        write_json(report.baseline_to_dict(result))
    else:
        report.render_baseline(console(), result)


@app.command()
@boundary
def adopt(
    db: OneDbOpt,
    root: RootOpt = None,
    env: EnvOpt = None,
    remote: RemoteOpt = False,
    engine: EngineOpt = None,
    persist_to: PersistOpt = None,
    write: Annotated[
        bool, typer.Option("--write", help="Record the baseline; without it, only show.")
    ] = False,
    output: FormatOpt = "text",
) -> None:
    """Infer how far a database without a ledger was migrated by hand, from its schema.

    Example: [bold]orchestrate adopt --db io-db --remote --write[/]
    """
    fmt = check_format(output, Format.TEXT, Format.JSON)
    settings = load_settings(root)
    database = find_database(settings, env, db)
    target = choose_engine(settings, remote, engine, persist_to)
    result = adopt_database(target, database, settings, write)
    if fmt is Format.JSON:
        write_json(report.adoption_to_dict(result))
    else:
        report.render_adoption(console(), result)
    raise typer.Exit(0 if result.clean else 1)


@app.command()
@boundary
def repair(
    db: OneDbOpt,
    file: Annotated[
        str | None, typer.Option("--file", help="Only this migration (path or name).")
    ] = None,
    root: RootOpt = None,
    env: EnvOpt = None,
    remote: RemoteOpt = False,
    engine: EngineOpt = None,
    persist_to: PersistOpt = None,
    yes: YesOpt = False,
    output: FormatOpt = "text",
) -> None:
    """Accept changed migration files after review: record the new checksums, keep the old.

    Example: [bold]orchestrate repair --db io-db --file 009_user_plugins.sql --yes[/]
    """
    fmt = check_format(output, Format.TEXT, Format.JSON)
    settings = load_settings(root)
    database = find_database(settings, env, db)
    target = choose_engine(settings, remote, engine, persist_to)
    result = (record_repair if yes else preview_repair)(target, database, settings, file)
    if fmt is Format.JSON:
        write_json(report.repair_to_dict(result))
    else:
        report.render_repair(console(), result)
