"""Idempotency rules I001–I004 (static) and I005 (measured by the shadow's second run).

Statements of a table recreation, and tables created and dropped within one
migration (backups), are exempt: a second run of them succeeds.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.rules.base import Context
from orchestrator.checks.statements import OBJECTS, Shape

ALTER_COLUMN_ACTIONS = ("ADD COLUMN", "DROP COLUMN", "RENAME COLUMN", "RENAME TABLE")
_INSERT_GUARDS = ("IGNORE", "REPLACE")


def _checked(ctx: Context) -> Iterator[tuple[int, Shape]]:
    parsed = ctx.migration
    for index, shape in enumerate(parsed.shapes):
        if index not in parsed.exempt and shape.name not in parsed.transient:
            yield index, shape


def check_create_guard(ctx: Context) -> Iterator[Finding]:
    """I001: CREATE TABLE/INDEX/VIEW/TRIGGER without IF NOT EXISTS."""
    for index, shape in _checked(ctx):
        if shape.verb == "CREATE" and shape.object in OBJECTS and not shape.if_clause:
            obj = shape.object
            yield ctx.finding(
                "I001",
                ctx.migration.statements[index].line,
                f"CREATE {obj} {shape.name} fails on a second run ({obj.lower()} already exists); "
                f"write CREATE {obj} IF NOT EXISTS {shape.name}",
            )


def check_drop_guard(ctx: Context) -> Iterator[Finding]:
    """I002: DROP … without IF EXISTS."""
    for index, shape in _checked(ctx):
        if shape.verb == "DROP" and shape.object in OBJECTS and not shape.if_clause:
            yield ctx.finding(
                "I002",
                ctx.migration.statements[index].line,
                f"DROP {shape.object} {shape.name} fails on a second run (no such {shape.object.lower()}); "
                f"write DROP {shape.object} IF EXISTS {shape.name}",
            )


def check_seed_insert(ctx: Context) -> Iterator[Finding]:
    """I003: a plain INSERT of literal rows (VALUES) with no conflict handling."""
    for index, shape in _checked(ctx):
        if shape.verb != "INSERT" or shape.source not in ("VALUES", "DEFAULT"):
            continue
        if shape.conflict in _INSERT_GUARDS or shape.upsert or is_table_command(shape):
            continue
        yield ctx.finding(
            "I003",
            ctx.migration.statements[index].line,
            f"plain INSERT of seed rows into {shape.name}: a second run fails on a unique key or "
            f"inserts the rows twice; write INSERT OR IGNORE INTO {shape.name} … "
            "(or add ON CONFLICT DO NOTHING)",
        )


def is_table_command(shape: Shape) -> bool:
    """``INSERT INTO fts (fts) VALUES ('rebuild')``: an FTS5/R*Tree command, not a row."""
    return bool(shape.columns) and shape.columns[0] == shape.name


def is_data_move(shape: Shape) -> bool:
    """``INSERT INTO new (…) SELECT … FROM old``: moving data, which can never be re-run."""
    return (
        shape.verb in ("INSERT", "REPLACE")
        and bool(shape.copy_from)
        and (shape.copy_from or "").lower() != (shape.name or "").lower()
    )


def check_alter_column(ctx: Context) -> Iterator[Finding]:
    """I004: ALTER TABLE … ADD/DROP/RENAME COLUMN or RENAME TO cannot be re-run."""
    for index, shape in _checked(ctx):
        if shape.verb == "ALTER" and shape.action in ALTER_COLUMN_ACTIONS:
            yield ctx.finding("I004", ctx.migration.statements[index].line, _alter_message(shape))


def _alter_message(shape: Shape) -> str:
    what = {
        "ADD COLUMN": f"ADD COLUMN {shape.column} fails on a second run (duplicate column name)",
        "DROP COLUMN": f"DROP COLUMN {shape.column} fails on a second run (no such column)",
        "RENAME COLUMN": f"RENAME COLUMN {shape.column} fails on a second run (no such column)",
        "RENAME TABLE": f"RENAME TO {shape.new_name} fails on a second run (no such table)",
    }[shape.action]
    return (
        f"ALTER TABLE {shape.name} {what}: SQLite has no IF [NOT] EXISTS for it, so this migration "
        "is not re-runnable; that is acceptable once the ledger records it — suppress with a reason "
        "(-- orchestrate: ignore[I004] …), or use the table-recreation pattern"
    )


def check_second_run(ctx: Context) -> Iterator[Finding]:
    """I005, measured on the shadow's second run: I004 when an ALTER fails, I003 when an INSERT
    fails or inserts its rows again (so those rules' suppressions cover what they measure)."""
    rerun = ctx.step.rerun if ctx.step else None
    if rerun is None:
        return
    parsed = ctx.migration
    for failure in rerun.failures:
        shape = parsed.shapes[failure.index]
        if shape.verb == "ALTER" and shape.action in ALTER_COLUMN_ACTIONS:
            yield ctx.finding(
                "I004", failure.line, f"measured: the second run fails here: {failure.message}"
            )
        elif is_data_move(shape):
            continue  # a one-off copy between tables: the ledger runs it once, by design
        elif shape.verb in ("INSERT", "REPLACE"):
            # Under the seed-INSERT rule, so that rule's suppression (with its reason) covers it.
            yield ctx.finding(
                "I003",
                failure.line,
                f"measured: a second run fails on this INSERT: {failure.message}",
            )
        else:
            yield ctx.finding(
                "I005",
                failure.line,
                f"measured: running this migration a second time fails here: {failure.message}",
            )
    for grown in rerun.grew:
        if is_data_move(parsed.shapes[grown.index]):
            continue
        yield ctx.finding(
            "I003",
            grown.line,
            f"measured: a second run inserts the rows again ({grown.message}) without failing; "
            "use INSERT OR IGNORE with a UNIQUE key, or WHERE NOT EXISTS",
        )
    if rerun.changed:
        yield ctx.finding(
            "I005",
            parsed.statements[0].line if parsed.statements else 1,
            "measured: a second run changes the schema (" + "; ".join(rerun.changed) + ")",
        )
