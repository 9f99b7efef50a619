"""Destructive rules: DROP outside a recreation (X001), dropping a column the same
migration copies (X002) — the strategy document drops it in the *next* migration."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.rules.base import Context
from orchestrator.sqltext import Kind


def check_drops(ctx: Context) -> Iterator[Finding]:
    """X001: DROP TABLE or DROP COLUMN that is not a recreation step or a transient table."""
    parsed = ctx.migration
    for index in parsed.indexes("DROP", "ALTER"):
        shape = parsed.shapes[index]
        if index in parsed.exempt or shape.name in parsed.transient:
            continue
        line = parsed.statements[index].line
        if shape.is_drop():
            yield ctx.finding(
                "X001",
                line,
                f"DROP TABLE {shape.name} deletes its rows for good; back them up first "
                "(wrangler d1 export, or copy into a table) and say so in the header",
            )
        elif shape.action == "DROP COLUMN":
            yield ctx.finding(
                "X001",
                line,
                f"DROP COLUMN {shape.column} deletes {shape.name}.{shape.column} for good; back it "
                "up first and say so in the header",
            )


def check_drop_copied_column(ctx: Context) -> Iterator[Finding]:
    """X002: ALTER TABLE t DROP COLUMN c after a statement of the same migration reads c."""
    parsed = ctx.migration
    for index in parsed.indexes("ALTER"):
        shape = parsed.shapes[index]
        if shape.action != "DROP COLUMN" or not shape.column:
            continue
        copier = next(
            (i for i in range(index) if _copies_column(ctx, i, shape.name, shape.column)), None
        )
        if copier is not None:
            yield ctx.finding(
                "X002",
                parsed.statements[index].line,
                f"drops {shape.name}.{shape.column} in the same migration that copies it "
                f"(line {parsed.statements[copier].line}); drop it in the next migration, after "
                "checking the copy (the strategy document's data-migration rule)",
            )


def _copies_column(ctx: Context, index: int, table: str | None, column: str) -> bool:
    shape = ctx.migration.shapes[index]
    if shape.verb not in ("INSERT", "UPDATE"):
        return False
    names = [
        t.name
        for t in ctx.migration.statements[index].tokens
        if t.kind in (Kind.IDENT, Kind.QUOTED)
    ]
    return column in names and (table in names or shape.name == table)
