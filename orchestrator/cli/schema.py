"""Schema commands: ``verify``, ``revert``, ``types``, ``seed`` and ``recreate``."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli import app, boundary, fail
from orchestrator.cli.options import (
    DB,
    ONE_DB,
    TARGET,
    WORKSPACE,
    Scope,
    formats,
    shared,
    yes,
)
from orchestrator.errors import UsageError
from orchestrator.reporting.apply import run_to_dict
from orchestrator.reporting.output import Format, console, write_json, write_text
from orchestrator.reporting.schema import (
    render_seed_summary,
    render_types_check,
    render_verify_markdown,
    render_verify_text,
    types_to_dict,
    verify_to_dict,
)
from orchestrator.schema.ddl import Generated
from orchestrator.schema.files import write_atomically, write_new_file
from orchestrator.schema.recreate import current_definition, recreate_migration
from orchestrator.schema.revert import revert_migration
from orchestrator.schema.seeds import SeedRequest, seed_databases
from orchestrator.schema.types import check_types, generate_types
from orchestrator.schema.verify import record_report, verify_databases
from orchestrator.settings import Settings

WriteOpt = Annotated[
    bool, typer.Option("--write", help="Write the migration file (default: print it).")
]


@app.command()
@boundary
@shared(DB, TARGET, WORKSPACE, formats(Format.TEXT, Format.JSON, Format.MARKDOWN))
def verify(
    scope: Scope,
    types: Annotated[
        Path | None,
        typer.Option(
            "--types", metavar="FILE", help="Instead: check a committed `orchestrate types` file."
        ),
    ] = None,
) -> None:
    """Schema drift: compare each target's schema with what its applied migrations
    produce (shadow replay); exit 1 on any difference. Reads the target only.
    With --types FILE, check that a committed types file still matches the migrations.

    Example: [bold]orchestrate verify --db io-db --remote --format json[/]   ·   [bold]orchestrate verify --types src/db-types.ts[/]
    """
    fmt = scope.format
    if types is not None:
        _verify_types(scope.settings(), types, scope.db, scope.env, fmt)
    request = scope.request()
    report = verify_databases(request)
    record_report(request, report)
    if fmt is Format.JSON:
        write_json(verify_to_dict(report))
    elif fmt is Format.MARKDOWN:
        write_text(render_verify_markdown(report))
    else:
        render_verify_text(console(), report)
    raise typer.Exit(0 if report else 1)


@app.command()
@boundary
@shared(ONE_DB, WORKSPACE)
def recreate(
    scope: Scope,
    table: Annotated[str, typer.Argument(help="The table whose definition changes.")],
    sql: Annotated[
        str | None, typer.Option("--sql", metavar="SQL", help="The new CREATE TABLE.")
    ] = None,
    sql_file: Annotated[
        Path | None,
        typer.Option("--sql-file", metavar="FILE", help="Read the new CREATE TABLE from a file."),
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Edit the current definition in $EDITOR.")
    ] = False,
    write: WriteOpt = False,
) -> None:
    """A migration that changes TABLE's definition without losing its rows or its
    children's on D1 (foreign keys stay on there). Without a new definition it recreates
    the table as it is, marked EDIT HERE.

    Example: [bold]orchestrate recreate templates --db templates-platform-db --edit --write[/]
    """
    settings, db, env = scope.settings(), scope.one_db, scope.env
    definition = _definition(settings, db, table, env, sql, sql_file, edit)
    emit(settings, recreate_migration(settings, db, table, definition, env), write)


def _definition(
    settings: Settings,
    db: str,
    table: str,
    env: str | None,
    sql: str | None,
    sql_file: Path | None,
    edit: bool,
) -> str | None:
    if sum((sql is not None, sql_file is not None, edit)) > 1:
        raise UsageError("give the new definition one way: --sql, --sql-file or --edit")
    if sql_file is not None:
        try:
            return sql_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read --sql-file {sql_file}: {exc}") from None
    if not edit:
        return sql
    return edit_text(current_definition(settings, db, table, env))


def edit_text(text: str) -> str:
    """Open ``text`` in ``$VISUAL``/``$EDITOR`` (default vi) and return what was saved."""
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    with tempfile.TemporaryDirectory(prefix="orchestrate-") as directory:
        path = Path(directory) / "definition.sql"
        path.write_text(text, encoding="utf-8")
        # The user's own editor, as git runs it: an argument list, never a shell.
        if subprocess.run([*editor, str(path)], check=False).returncode != 0:  # noqa: S603
            raise UsageError(f"{editor[0]} exited with an error; nothing written")
        edited = path.read_text(encoding="utf-8")
    if edited.strip() == text.strip():
        raise UsageError("the definition is unchanged", hint="edit it, or leave out --edit")
    return edited


def emit(settings: Settings, generated: Generated, write: bool) -> None:
    """Print a generated migration, or write it (never over an existing file)."""
    if not write:
        write_text(generated.text)
    else:
        write_new_file(settings.root, generated.file, generated.text)
        typer.echo(f"wrote {generated.file}", err=True)
    for note in generated.notes:
        typer.echo(f"note: {note}", err=True)
    for error in generated.errors:
        fail(f"where it would run, `orchestrate check` reports {error}")
    if write:
        typer.echo("next: review it, then `orchestrate check`", err=True)


@app.command()
@boundary
@shared(WORKSPACE)
def revert(
    scope: Scope,
    migration: Annotated[str, typer.Argument(help="The migration to undo: its file or NNNN_name.")],
    db: Annotated[
        str | None,
        typer.Option("--db", metavar="NAME", help="Its database, when the file feeds several."),
    ] = None,
    write: WriteOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write it even when `check` would report errors.")
    ] = False,
) -> None:
    """Generate NNNN_revert_<name>.sql, the next migration, that takes the schema back to
    before MIGRATION; its header says what data cannot come back. Exit 1 when the revert
    would not pass `orchestrate check` where it runs (after every migration); then
    --write writes nothing unless --force is given.

    Example: [bold]orchestrate revert 0012_stripe_events --write[/]
    """
    settings = scope.settings()
    generated = revert_migration(settings, migration, db, scope.env)
    if write and generated.errors and not force:
        for error in generated.errors:
            fail(f"where it would run, `orchestrate check` reports {error}")
        fail(f"nothing written to {generated.file}; pass --force to write it anyway")
        raise typer.Exit(1)
    emit(settings, generated, write)
    raise typer.Exit(1 if generated.errors else 0)


def _verify_types(
    settings: Settings, path: Path, db: tuple[str, ...], env: str | None, fmt: Format
) -> None:
    if db and len(db) > 1:
        raise UsageError("--types checks one database; give --db once")
    result = check_types(settings, path, db[0] if db else None, env)
    if fmt is Format.JSON:
        write_json({"types": types_to_dict(result)})
    else:
        write_text(render_types_check(result))
    raise typer.Exit(0 if result.ok else 1)


@app.command()
@boundary
@shared(ONE_DB, WORKSPACE)
def types(
    scope: Scope,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write the file here (default: print it)."),
    ] = None,
) -> None:
    """TypeScript row interfaces for every table, from the schema after all migrations;
    commit the file and let `orchestrate verify --types FILE` keep it honest.

    Example: [bold]orchestrate types --db io-db --out packages/io/src/db-types.ts[/]
    """
    generated = generate_types(scope.settings(), scope.one_db, scope.env)
    if out is None:
        write_text(generated.text)
        return
    write_atomically(out, generated.text)
    typer.echo(f"wrote {out}", err=True)


@app.command()
@boundary
@shared(
    DB,
    TARGET,
    WORKSPACE,
    yes("Allow the dev seeds (test data) on a remote database."),
    formats(Format.TEXT, Format.JSON),
)
def seed(
    scope: Scope,
    seed_set: Annotated[
        str | None,
        typer.Option(
            "--set", "-s", metavar="NAME", help="The seed set: seeds/NAME/ (dev, production …)."
        ),
    ] = None,
    dry_run_: Annotated[
        bool, typer.Option("--dry-run", help="List the seeds that would run; write nothing.")
    ] = False,
) -> None:
    """Run the seeds/<set>/NNNN_*.sql files next to each migrations directory, in order,
    each once and atomically with its _seeds row, on fully migrated databases only.
    Without -e/--env, a config that binds D1 in \\[env.<set>] is seeded there.

    Example: [bold]orchestrate seed --set dev[/]   ·   [bold]orchestrate seed --set production --remote --db io-db --dry-run[/]
    """
    name, env = seed_names(seed_set, scope.env)
    request = SeedRequest(replace(scope, env=env).request(), name, scope.yes, dry_run_)
    run = seed_databases(request)
    if scope.format is Format.JSON:
        write_json({"env": name, **run_to_dict(run)})
    else:
        render_seed_summary(console(), run, name, dry_run=dry_run_)
    raise typer.Exit(0 if run else 1)


def seed_names(seed_set: str | None, env: str | None) -> tuple[str, str | None]:
    """The seed set and the wrangler env. ``seed --env NAME`` without ``--set`` is the old
    spelling: NAME is then the seed set, as before, with a warning."""
    if seed_set is not None:
        return seed_set, env
    if env is None:
        raise UsageError("name the seed set with --set NAME", hint="e.g. --set dev")
    typer.echo(
        f"warning: seed --env {env} naming the seed set is deprecated; use --set {env} "
        "(-e/--env names a wrangler environment)",
        err=True,
    )
    return env, None
