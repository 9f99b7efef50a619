"""``orchestrate revert MIGRATION``: write ``NNNN_revert_<name>.sql`` (the next number
of the database) from the shadow schema before and after MIGRATION (``undo`` has
the steps). The header states what data cannot come back.

The revert is planned where MIGRATION ran, but it will run after every migration of
the database; it is also checked there, with every lint rule and the measured
replay, and what ``orchestrate check`` would call an error is reported.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.checks.engine import Unit, analyze_unit
from orchestrator.checks.parsed import parse_migration
from orchestrator.checks.schema import SchemaSnapshot, snapshot_schema
from orchestrator.checks.shadow import run_script
from orchestrator.discovery.naming import canonical_of
from orchestrator.discovery.sources import checksum
from orchestrator.errors import UsageError
from orchestrator.model import Database, Migration
from orchestrator.planning import plan_database
from orchestrator.schema.ddl import (
    Generated,
    Header,
    migration_file,
    next_number,
    render_blocks,
    render_header,
)
from orchestrator.schema.target import open_replayed
from orchestrator.schema.undo import RevertPlan, plan_revert
from orchestrator.services import load_workspace
from orchestrator.settings import Settings


def revert_migration(
    settings: Settings, spec: str, database: str | None = None, env: str | None = None
) -> Generated:
    """The revert of the migration ``spec`` names (a file path, file name or NNNN_name)."""
    db, migration = find_migration(settings, spec, database, env)
    order = tuple(s.migration for s in plan_database(db, None).steps)
    position = order.index(migration)
    plan = plan_revert_at(order, position, final_schema(order))
    number = next_number(db)
    description = f"revert_{migration.description}"
    file = migration_file(migration.source, number, description)
    text = render_header(_header(migration, number, plan)) + _body(plan)
    revert = Migration(
        number,
        description,
        file,
        migration.source,
        migration.package,
        checksum(text.encode()),
        text,
    )
    errors = check_in_place(db, order, revert)
    return Generated(db.name, file, text, _notes(plan, order[position + 1 :]), errors)


def final_schema(order: tuple[Migration, ...]) -> SchemaSnapshot:
    """The schema after every migration: where the revert will run."""
    conn = open_replayed(order)
    try:
        return snapshot_schema(conn)
    finally:
        conn.close()


def plan_revert_at(
    order: tuple[Migration, ...], position: int, final: SchemaSnapshot | None = None
) -> RevertPlan:
    """Replay up to ``order[position]``, run it, and plan the way back (for ``final``)."""
    conn = open_replayed(order[:position])
    try:
        before = snapshot_schema(conn)
        migration = order[position]
        parsed = parse_migration(migration.file, migration.sql)
        failure = run_script(conn, parsed)
        if failure is not None:
            raise UsageError(
                f"it fails on the shadow: {failure.message}", file=failure.file, line=failure.line
            )
        return plan_revert(conn, before, parsed, final)
    finally:
        conn.close()


def find_migration(
    settings: Settings, spec: str, database: str | None, env: str | None
) -> tuple[Database, Migration]:
    """The one migration ``spec`` names; ``--db`` settles a file several databases share."""
    workspace = load_workspace(settings, env, (database,) if database else ())
    found = [
        (db, m)
        for db in workspace.databases
        for m in db.migrations
        if _names(m, spec, settings.root)
    ]
    if not found:
        raise UsageError(
            f"no migration called {spec!r}",
            hint="give its file, e.g. packages/x/migrations/0009_name.sql, or 0009_name",
        )
    if len({db.name for db, _ in found}) > 1:
        names = ", ".join(sorted({db.name for db, _ in found}))
        raise UsageError(
            f"{spec!r} feeds several databases: {names}", hint="pick one with --db NAME"
        )
    if len(found) > 1:
        files = ", ".join(m.file for _, m in found)
        raise UsageError(f"{spec!r} names several migrations: {files}", hint="give the file path")
    return found[0]


def _names(migration: Migration, spec: str, root: Path) -> bool:
    text = spec.strip()
    base = text.replace(os.sep, "/").rsplit("/", 1)[-1]
    if text in (migration.file, migration.name, migration.filename):
        return True
    if "/" in text.replace(os.sep, "/") or text.endswith(".sql"):
        path = Path(text)
        resolved = (path if path.is_absolute() or path.exists() else root / path).resolve()
        if resolved == (root / migration.file).resolve():
            return True
        return "/" not in text and base == migration.file.rsplit("/", 1)[-1]
    return canonical_of(base) == migration.name


def check_in_place(
    db: Database, order: tuple[Migration, ...], revert: Migration
) -> tuple[str, ...]:
    """Errors ``orchestrate check`` would report for the revert where it will run: last."""
    result = analyze_unit(Unit(db.name, (*order, revert)), measure=True)
    return tuple(
        f"{f.rule} line {f.line}: {f.message}"
        for f in result.findings
        if f.file == revert.file and f.is_error
    )


def _body(plan: RevertPlan) -> str:
    if plan.blocks:
        return render_blocks(plan.blocks)
    if plan.not_undone:
        return "-- Nothing to undo in the schema: this migration changed rows only (see Changes).\n"
    # A recreation that kept the definition: rows and schema both end where they began.
    return "-- Nothing to undo: after this migration the schema is what it was before it.\n"


def _header(migration: Migration, number: int, plan: RevertPlan) -> Header:
    changes = [f"Undo the schema changes of {migration.file}"]
    changes += [f"Data lost for good: {text}" for text in plan.lost]
    changes += [f"Not undone (row changes): {text}" for text in plan.not_undone]
    changes += [f"Caution: {text}" for text in plan.cautions]
    changes += [f"Still different afterwards: {text}" for text in plan.residue]
    return Header(
        number,
        f"Revert {migration.name}",
        f"Take the schema back to where it was before {migration.filename}.",
        (
            f"Written by `orchestrate revert {migration.name}` from the shadow schema",
            "before and after that migration. Data cannot come back where Changes says so.",
        ),
        tuple(changes),
        tuple(_verification(plan, migration)),
    )


def _verification(plan: RevertPlan, migration: Migration) -> list[str]:
    return [
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name;",
        f"-- the same objects as before {migration.filename}; `orchestrate verify` compares them",
    ]


def _notes(plan: RevertPlan, later: tuple[Migration, ...]) -> tuple[str, ...]:
    notes = [f"data lost for good: {text}" for text in plan.lost]
    notes += [f"not undone (row changes): {text}" for text in plan.not_undone]
    notes += [f"caution: {text}" for text in plan.cautions]
    notes += [f"still different afterwards: {text}" for text in plan.residue]
    if later:
        names = ", ".join(m.name for m in later)
        notes.append(
            f"it undoes the schema right after the migration, but {len(later)} come after it "
            f"({names}): revert those first, newest first"
        )
    return tuple(notes)
