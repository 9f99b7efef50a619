"""SQLite limits L001–L003 (static), and L004: statements the shadow replay saw SQLite refuse.

``ALTER TABLE … ADD COLUMN`` refuses NOT NULL without a default, UNIQUE, PRIMARY
KEY, a REFERENCES column with a non-NULL default and a STORED generated column;
NOT NULL without a default and a non-constant default only once the table has
rows (SQLite 3.37+, as D1 runs it), so a migration that first empties the table
(``DELETE FROM t``) may add them. SQLite's ALTER TABLE knows only
RENAME TO, RENAME COLUMN, ADD COLUMN and DROP COLUMN.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.columns import ColumnDef
from orchestrator.checks.findings import Finding
from orchestrator.checks.rules.base import Context
from orchestrator.checks.rules.design import added_column
from orchestrator.sqltext import Kind

_NOW = ("CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP")


def _added(ctx: Context) -> Iterator[tuple[int, str, ColumnDef]]:
    for _, line, table, column in _added_at(ctx):
        yield line, table, column


def _added_at(ctx: Context) -> Iterator[tuple[int, int, str, ColumnDef]]:
    for index in ctx.migration.indexes("ALTER"):
        shape = ctx.migration.shapes[index]
        if shape.action == "ADD COLUMN" and shape.name:
            column = added_column(ctx.migration.statements[index])
            if column is not None:
                yield index, ctx.migration.statements[index].line, shape.name, column


def emptied_before(ctx: Context, table: str, index: int) -> bool:
    """True when the migration deletes every row of ``table`` (``DELETE FROM t`` with no
    WHERE) before statement ``index`` and writes none back in between: SQLite (3.37+, as D1)
    checks NOT NULL and non-constant ADD COLUMN defaults only against existing rows."""
    emptied = False
    for shape, statement in zip(
        ctx.migration.shapes[:index], ctx.migration.statements[:index], strict=True
    ):
        if shape.new_name == table:  # another table renamed into this name
            emptied = False
        elif shape.name != table:
            continue
        elif shape.verb == "DELETE":
            emptied = emptied or not any(t.is_word("WHERE") for t in statement.tokens)
        elif shape.verb in ("INSERT", "REPLACE"):
            emptied = False
    return emptied


def _null_default(column: ColumnDef) -> bool:
    return column.default is None or (
        len(column.default) == 1 and column.default[0].is_word("NULL")
    )


def check_add_not_null(ctx: Context) -> Iterator[Finding]:
    """L001: ADD COLUMN … NOT NULL with no (or a NULL) default."""
    for index, line, table, column in _added_at(ctx):
        if column.not_null and _null_default(column) and not emptied_before(ctx, table, index):
            yield ctx.finding(
                "L001",
                line,
                f'SQLite refuses ADD COLUMN {column.name} NOT NULL without a default ("Cannot add a '
                f'NOT NULL column with default value NULL"); add DEFAULT <value>, or recreate {table}',
            )


def check_add_unique(ctx: Context) -> Iterator[Finding]:
    """L002: ADD COLUMN … UNIQUE or PRIMARY KEY."""
    for line, table, column in _added(ctx):
        if column.unique or column.primary_key:
            what = "PRIMARY KEY" if column.primary_key else "UNIQUE"
            yield ctx.finding(
                "L002",
                line,
                f'SQLite refuses ADD COLUMN {column.name} … {what} ("Cannot add a {what} column"); '
                f"add the column, then CREATE UNIQUE INDEX IF NOT EXISTS ON {table}({column.name})",
            )


def check_unsupported(ctx: Context) -> Iterator[Finding]:
    """L003: ALTER forms SQLite lacks, and ADD COLUMN forms it refuses."""
    for index in ctx.migration.indexes("ALTER"):
        shape = ctx.migration.shapes[index]
        if shape.action in ("OTHER", "ADD OTHER", "DROP OTHER"):
            yield ctx.finding(
                "L003",
                ctx.migration.statements[index].line,
                "SQLite's ALTER TABLE supports only RENAME TO, RENAME COLUMN, ADD COLUMN and DROP "
                f"COLUMN; change {shape.name or 'the table'} with `orchestrate recreate`",
            )
    for line, _, column in _added(ctx):
        problem = _add_problem(column)
        if problem:
            yield ctx.finding("L003", line, problem)


def _add_problem(column: ColumnDef) -> str | None:
    if column.generated == "STORED":
        return f'SQLite refuses ADD COLUMN {column.name} … STORED ("cannot add a STORED column"); use VIRTUAL'
    if column.reference and not _null_default(column):
        return (
            f"SQLite refuses ADD COLUMN {column.name} REFERENCES … with a non-NULL default while "
            "foreign keys are on, as on D1; default it to NULL"
        )
    if column.default and _non_constant(column):
        return (
            f'ADD COLUMN {column.name} has a non-constant default; SQLite refuses it ("Cannot add a '
            'column with non-constant default") as soon as the table has rows, as in production '
            "(an empty local table lets it through); add it with a constant default, then UPDATE"
        )
    return None


def _non_constant(column: ColumnDef) -> bool:
    tokens = column.default or ()
    calls = any(
        t.kind is Kind.IDENT and i + 1 < len(tokens) and tokens[i + 1].text == "("
        for i, t in enumerate(tokens)
    )
    return calls or any(t.is_word(*_NOW) for t in tokens)


def check_shadow_failures(ctx: Context) -> Iterator[Finding]:
    """L004: the statement SQLite refused during the shadow replay."""
    failure = ctx.step.failure if ctx.step else None
    if failure is not None:
        yield ctx.finding(
            "L004",
            failure.line,
            f"SQLite refuses this statement when the plan is replayed in order: {failure.message}",
        )
