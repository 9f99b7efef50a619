"""``orchestrate recreate TABLE``: a migration that changes a table's definition
without losing its rows, or its children's, on D1 (``recipe`` has the SQL).

The current definition comes from the shadow schema after every migration of the
database. Without a new definition the migration recreates the table as it is,
with step 3 marked for editing.
"""

from __future__ import annotations

import difflib
import sqlite3

from orchestrator.checks.parsed import parse_migration
from orchestrator.checks.probe import probe_losses
from orchestrator.checks.schema import SchemaSnapshot, Table, snapshot_schema
from orchestrator.checks.shadow import Failure, run_script
from orchestrator.checks.statements import shape_of
from orchestrator.errors import UsageError
from orchestrator.model import Database
from orchestrator.planning import plan_database
from orchestrator.schema.ddl import (
    Generated,
    Header,
    migration_file,
    next_number,
    render_blocks,
    render_header,
    sql_string,
)
from orchestrator.schema.recipe import Recreation, recreation
from orchestrator.schema.target import describe_definition, open_replayed
from orchestrator.services import load_workspace
from orchestrator.settings import Settings
from orchestrator.sqltext import split_statements


def recreate_migration(
    settings: Settings, database: str, table: str, new_sql: str | None, env: str | None = None
) -> Generated:
    """The recreation migration for ``table`` of ``database`` (nothing is written)."""
    db = _database(settings, env, database)
    migrations = tuple(s.migration for s in plan_database(db, None).steps)
    conn = open_replayed(migrations)
    try:
        schema = snapshot_schema(conn)
        old = _table(schema, table)
        sql = _definition(new_sql, old)
        plan = recreation(schema, old, sql, describe_definition(conn, sql), new_sql is None)
        number = next_number(db)
        text = render_header(_header(plan, number, new_sql is None)) + render_blocks(plan.blocks)
        file = migration_file(_source(db, old.name), number, f"recreate_{old.name.lower()}")
        warnings = validate(conn, file, text)
    finally:
        conn.close()
    return Generated(db.name, file, text, (*_notes(plan), *warnings))


def _database(settings: Settings, env: str | None, name: str) -> Database:
    return load_workspace(settings, env, (name,)).databases[0]


def _table(schema: SchemaSnapshot, name: str) -> Table:
    table = schema.table(name)
    if table is not None and not table.virtual:
        return table
    names = [t.name for t in schema.tables if not t.virtual]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"tables: {', '.join(names) or 'none'}"
    raise UsageError(f"no table called {name!r} after the migrations of this database", hint=hint)


def _definition(new_sql: str | None, old: Table) -> str:
    if new_sql is None:
        return old.sql
    statements = split_statements(new_sql)
    shape = shape_of(statements[0]) if len(statements) == 1 else None
    if shape is None or not shape.is_create() or shape.copy_from or shape.virtual or shape.temp:
        raise UsageError("the new definition must be one CREATE TABLE name (…) statement")
    if (shape.name or "") != old.name.lower():
        raise UsageError(
            f"the new definition creates {shape.name!r}, not {old.name!r}",
            hint="keep the table's name; rename it in a migration of its own",
        )
    return statements[0].text.rstrip(";")


def validate(conn: sqlite3.Connection, file: str, text: str) -> tuple[str, ...]:
    """Run the generated migration on the shadow, with synthetic rows and without.

    Without rows it must succeed (else the definition is impossible: a usage error).
    With rows it must lose none (else orchestrate has a bug); if it fails there, the
    returned warning says why (a new NOT NULL column without a DEFAULT, say).
    """
    parsed = parse_migration(file, text)
    failures: list[Failure] = []

    def run() -> bool:
        failure = run_script(conn, parsed)
        failures.extend([failure] if failure else [])
        return failure is None

    losses = probe_losses(conn, parsed, run)
    if losses:
        lost = ", ".join(f"{loss.table} ({loss.before} -> {loss.after})" for loss in losses)
        raise UsageError(f"the generated migration would lose rows of {lost}")
    failure = run_script(conn, parsed)
    if failure is not None:
        raise UsageError(
            f"the generated migration fails on the shadow at line {failure.line}: {failure.message}",
            hint="check the new definition (columns the copy needs, indexes on dropped columns)",
        )
    return tuple(
        f"with rows in the tables it fails at line {f.line}: {f.message}; edit the copy "
        "to fill that column, or give it a DEFAULT"
        for f in failures
    )


def _source(db: Database, table: str) -> str:
    """The directory of the migration that created ``table`` (else the first source)."""
    for migration in sorted(db.migrations, key=lambda m: m.number):
        shapes = parse_migration(migration.file, migration.sql).shapes
        if any(s.is_create() and s.name == table.lower() for s in shapes):
            return migration.source
    return db.sources[0] if db.sources else "migrations"


def _header(plan: Recreation, number: int, unedited: bool) -> Header:
    table = plan.table
    children = ", ".join(f"{e.table} ({', '.join(e.how)})" for e in plan.effects) or "none"
    changes = [
        f"Recreate {table} with the definition in step 3" + (" (edit it)" if unedited else "")
    ]
    changes += [f"Keep every row of {table} and of the tables its DROP touches on D1: {children}"]
    changes += _column_changes(plan)
    verification = [
        f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {sql_string(table)};"
    ]
    verification += [
        f"SELECT COUNT(*) FROM {t};  -- the same as before the migration"
        for t in [table, *(e.table for e in plan.effects)]
    ]
    return Header(
        number,
        f"Recreate {table}",
        f"Change the definition of {table} without losing its rows or its children's rows on D1.",
        (
            f"Written by `orchestrate recreate {table}`. D1 keeps foreign keys on, so the",
            "strategy document's Pattern 2 would delete the children's rows; see docs/recreate.md.",
        ),
        tuple(changes),
        tuple(verification),
    )


def _column_changes(plan: Recreation) -> list[str]:
    changes = []
    if plan.dropped_columns:
        changes.append(f"Columns dropped, their data is lost: {', '.join(plan.dropped_columns)}")
    if plan.added_columns:
        changes.append(
            f"Columns added, filled by their DEFAULT (or NULL): {', '.join(plan.added_columns)}"
        )
    if plan.skipped_indexes:
        changes.append(f"Not recreated (their columns are gone): {', '.join(plan.skipped_indexes)}")
    if plan.autoincrement:
        changes.append("AUTOINCREMENT restarts from the largest id kept (sqlite_sequence is reset)")
    return changes


def _notes(plan: Recreation) -> tuple[str, ...]:
    kept = ", ".join(e.table for e in plan.effects)
    notes = [f"rows of {kept} are backed up and restored"] if kept else []
    return tuple(notes + _column_changes(plan))


def current_definition(
    settings: Settings, database: str, table: str, env: str | None = None
) -> str:
    """The ``CREATE TABLE`` of ``table`` after every migration of ``database``."""
    db = _database(settings, env, database)
    conn = open_replayed(tuple(s.migration for s in plan_database(db, None).steps))
    try:
        return _table(snapshot_schema(conn), table).sql + ";\n"
    finally:
        conn.close()
