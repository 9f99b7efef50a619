"""Table-recreation rules R001–R002, checked against the shadow schema.

R001 compares what hung off the old table just before its DROP (indexes from
CREATE INDEX, triggers, views that name it) with the schema after the migration.
R002 compares the column lists SQLite reports for both sides of an
``INSERT … SELECT *`` just before it runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.parsed import Recreation
from orchestrator.checks.rules.base import Context
from orchestrator.checks.schema import SchemaSnapshot
from orchestrator.checks.statements import Shape
from orchestrator.sqltext import Kind, split_statements


def check_lost_objects(ctx: Context) -> Iterator[Finding]:
    """R001: an index, trigger or view of the recreated table is gone afterwards."""
    after = ctx.after
    for recreation in ctx.migration.recreations:
        before = ctx.at(recreation.drop)
        if before is None or after is None:
            continue
        lost = lost_objects(recreation, before, after)
        if lost:
            yield ctx.finding(
                "R001",
                ctx.migration.statements[recreation.drop].line,
                f"recreating {recreation.table} loses {', '.join(lost)}: DROP TABLE removes them "
                "with the old table and this migration does not recreate them; add them after the RENAME",
            )


def lost_objects(
    recreation: Recreation, before: SchemaSnapshot, after: SchemaSnapshot
) -> list[str]:
    """``"idx_x (index)"`` for each object of the old table missing after the migration."""
    old = before.table(recreation.dropped)
    new = after.table(recreation.table)
    if old is None:
        return []
    kept_names = {i.name.lower() for i in new.indexes} if new else set()
    kept_shapes = {i.shape for i in new.indexes} if new else set()
    columns = {c.lower() for c in new.column_names} if new else set()
    lost = [
        f"{i.name} (index)"
        for i in old.indexes
        if i.origin == "c"
        and i.name.lower() not in kept_names
        and i.shape not in kept_shapes
        and _columns_kept(i.columns, columns, new is not None)
    ]
    names = {o.name.lower() for o in after.others}
    for other in before.others:
        if other.name.lower() not in names and _depends_on(
            other.sql, other.table, recreation.dropped
        ):
            lost.append(f"{other.name} ({other.type})")
    return lost


def _columns_kept(indexed: tuple[str | None, ...], columns: set[str], known: bool) -> bool:
    # An index on a column the recreation removed on purpose cannot be recreated: not lost.
    return not known or all(c is None or c.lower() in columns for c in indexed)


def _depends_on(sql: str, table: str, name: str) -> bool:
    if table.lower() == name.lower():
        return True
    return any(
        t.name == name.lower()
        for s in split_statements(sql)
        for t in s.tokens
        if t.kind is not Kind.STRING
    )


def check_select_star(ctx: Context) -> Iterator[Finding]:
    """R002: ``INSERT INTO a SELECT * FROM b`` where the column lists differ in count or order."""
    parsed = ctx.migration
    # Only statements with a snapshot before them can be checked (``rules.watch``).
    for index in sorted(ctx.step.at) if ctx.step else ():
        shape, snapshot = parsed.shapes[index], ctx.at(index)
        if (
            not (shape.verb == "INSERT" and shape.select_star and shape.copy_from and shape.name)
            or snapshot is None
        ):
            continue
        target = target_columns(shape, snapshot)
        source = snapshot.table(shape.copy_from)
        if target is None or source is None:
            continue
        problem = column_mismatch(target, source.column_names)
        if problem:
            yield ctx.finding(
                "R002",
                parsed.statements[index].line,
                f"INSERT INTO {shape.name} SELECT * FROM {shape.copy_from} copies by position, and "
                f"{problem}; name the columns: INSERT INTO {shape.name} ({', '.join(target[:3])}, …) "
                f"SELECT {', '.join(target[:3])}, … FROM {shape.copy_from}",
            )


def target_columns(shape: Shape, snapshot: SchemaSnapshot) -> tuple[str, ...] | None:
    """The INSERT's explicit column list, else every column of the target table."""
    if shape.columns:
        return shape.columns
    table = snapshot.table(shape.name or "")
    return table.column_names if table else None


def column_mismatch(target: tuple[str, ...], source: tuple[str, ...]) -> str | None:
    """How two column lists differ, in words; None when they match by position."""
    if len(target) != len(source):
        return f"the target takes {len(target)} columns but the source has {len(source)}"
    for position, (into, fro) in enumerate(zip(target, source, strict=True), 1):
        if into.lower() != fro.lower():
            return f"column {position} is {into} in the target but {fro} in the source"
    return None
