"""Idempotency rules I001–I004 (static) and I005 (measured by the shadow's second run).

Statements of a table recreation, and tables created and dropped within one
migration (backups), are exempt: a second run of them succeeds.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.rules.base import Context
from orchestrator.checks.shadow import runs_on_shadow
from orchestrator.checks.statements import OBJECTS, Shape
from orchestrator.checks.suppress import Suppression

ALTER_COLUMN_ACTIONS = ("ADD COLUMN", "DROP COLUMN", "RENAME COLUMN", "RENAME TABLE")
_INSERT_GUARDS = ("IGNORE", "REPLACE")


def _checked(ctx: Context, verb: str) -> Iterator[tuple[int, Shape]]:
    """The statements of ``verb`` that are no recreation step and touch no transient table."""
    parsed = ctx.migration
    exempt, transient, shapes = parsed.exempt, parsed.transient, parsed.shapes
    for index in parsed.indexes(verb):
        shape = shapes[index]
        if index not in exempt and shape.name not in transient:
            yield index, shape


def check_create_guard(ctx: Context) -> Iterator[Finding]:
    """I001: CREATE TABLE/INDEX/VIEW/TRIGGER without IF NOT EXISTS."""
    for index, shape in _checked(ctx, "CREATE"):
        if shape.object in OBJECTS and not shape.if_clause:
            obj = shape.object
            yield ctx.finding(
                "I001",
                ctx.migration.statements[index].line,
                f"CREATE {obj} {shape.name} fails on a second run ({obj.lower()} already exists); "
                f"write CREATE {obj} IF NOT EXISTS {shape.name}",
            )


def check_drop_guard(ctx: Context) -> Iterator[Finding]:
    """I002: DROP … without IF EXISTS."""
    for index, shape in _checked(ctx, "DROP"):
        if shape.object in OBJECTS and not shape.if_clause:
            yield ctx.finding(
                "I002",
                ctx.migration.statements[index].line,
                f"DROP {shape.object} {shape.name} fails on a second run (no such {shape.object.lower()}); "
                f"write DROP {shape.object} IF EXISTS {shape.name}",
            )


def check_seed_insert(ctx: Context) -> Iterator[Finding]:
    """I003: plain INSERTs of literal rows (VALUES) with no conflict handling.

    One problem, one finding: a file's seed INSERTs into one table are one finding at the
    first of them, naming how many there are and their lines (a 50,000-row seed is one
    warning, not 50,000). Statements an inline ``ignore[I003]`` covers form their own
    finding, which that suppression then silences, so it covers exactly what it did."""
    parsed = ctx.migration
    covering = [s for s in parsed.suppressions if "I003" in s.codes]
    statements = parsed.statements
    groups: dict[tuple[str | None, tuple[int, ...]], list[int]] = {}
    seed: dict[int, bool] = {}  # by shape identity: a seed's rows share one (cached) shape
    for index, shape in _checked(ctx, "INSERT"):
        known = seed.get(id(shape))
        if known is None:
            known = seed[id(shape)] = is_seed_insert(shape)
        if known:
            line = statements[index].line
            by = _covered_by(covering, line) if covering else ()
            groups.setdefault((shape.name, by), []).append(line)
    for (table, _), lines in groups.items():
        yield ctx.finding(
            "I003", lines[0], _seed_message(table, lines), lines=lines if len(lines) > 1 else ()
        )


def _covered_by(suppressions: list[Suppression], line: int) -> tuple[int, ...]:
    return tuple(n for n, s in enumerate(suppressions) if s.first <= line <= s.last)


def is_seed_insert(shape: Shape) -> bool:
    """A plain ``INSERT … VALUES`` (or ``DEFAULT VALUES``) of rows, without OR IGNORE,
    OR REPLACE or an upsert: what I003 reports."""
    return (
        shape.verb == "INSERT"
        and shape.source in ("VALUES", "DEFAULT")
        and shape.conflict not in _INSERT_GUARDS
        and not shape.upsert
        and not is_table_command(shape)
    )


def _seed_message(table: str | None, lines: list[int]) -> str:
    what = (
        f"plain INSERT of seed rows into {table}"
        if len(lines) == 1
        else f"{len(lines):,} plain INSERTs of seed rows into {table} (lines {lines[0]}–{lines[-1]})"
    )
    return (
        f"{what}: a second run fails on a unique key or inserts the rows twice; "
        f"write INSERT OR IGNORE INTO {table} … (or add ON CONFLICT DO NOTHING)"
    )


def needs_second_run(parsed: ParsedMigration) -> bool:
    """False when running the migration a second time could show only what I003 already
    reports, so the shadow skips that run (on a 50,000-row seed it costs as much as the
    first): every statement the shadow runs is either

    - ``CREATE TABLE/INDEX/VIEW/TRIGGER IF NOT EXISTS`` (not TEMP, not virtual), which does
      nothing the second time, or
    - a seed INSERT (``is_seed_insert``), whose second run can only fail on it or add its
      rows again (triggers included); ``check_second_run`` reports both as I003 on that
      INSERT's line (or the first INSERT into its table), where this rule's finding stands.

    Such a migration has no DROP or ALTER, so no recreation steps and no transient tables
    exempt an INSERT from I003, and nothing it runs can change the schema a second time."""
    return not all(
        is_seed_insert(shape) or _idle_second_time(shape) or not runs_on_shadow(shape)
        for shape in parsed.shapes
    )


def _idle_second_time(shape: Shape) -> bool:
    """``CREATE TABLE/INDEX/VIEW/TRIGGER IF NOT EXISTS``, neither TEMP nor virtual."""
    return (
        shape.verb == "CREATE"
        and shape.if_clause
        and shape.object in OBJECTS
        and not shape.temp
        and not shape.virtual
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
    for index, shape in _checked(ctx, "ALTER"):
        if shape.action in ALTER_COLUMN_ACTIONS:
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
