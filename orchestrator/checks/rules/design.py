"""Design rules: single purpose (S001), indexed foreign keys (S002), timestamps (S003)."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.columns import ColumnDef, Reference, parse_column
from orchestrator.checks.findings import Finding
from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.rules.base import Context, DatabaseContext
from orchestrator.checks.schema import ForeignKey, Table
from orchestrator.checks.statements import words_at
from orchestrator.sqltext import Statement, Token

_TIME_TYPES = ("DATETIME", "TIMESTAMP", "DATE", "TIME")
_ALWAYS_DEFAULTED = ("created_at", "updated_at")


def touched_tables(parsed: ParsedMigration) -> list[tuple[str, int]]:
    """Tables the migration creates or alters, with the line of the first statement that does."""
    renamed = {r.scratch: r.table for r in parsed.recreations}
    seen: dict[str, int] = {}
    for index in parsed.indexes("CREATE", "ALTER"):
        shape = parsed.shapes[index]
        if (
            (shape.is_create() or shape.verb == "ALTER")
            and shape.name
            and shape.name not in parsed.transient
        ):
            seen.setdefault(renamed.get(shape.name, shape.name), parsed.statements[index].line)
    return sorted(seen.items(), key=lambda item: item[1])


def check_single_purpose(ctx: Context) -> Iterator[Finding]:
    """S001: more than one table created or altered."""
    tables = touched_tables(ctx.migration)
    if len(tables) > 1:
        names = ", ".join(name for name, _ in tables)
        yield ctx.finding(
            "S001",
            tables[1][1],
            f"creates or alters {len(tables)} tables ({names}); one table per migration is easier "
            "to review, debug and revert — split it",
        )


def added_column(statement: Statement) -> ColumnDef | None:
    """The column an ``ALTER TABLE … ADD [COLUMN]`` defines."""
    tokens = statement.tokens
    for index, token in enumerate(tokens):
        if token.is_word("ADD"):
            start = index + (2 if words_at(tokens, index + 1, "COLUMN") else 1)
            return parse_column(tokens[start:]) if start < len(tokens) else None
    return None


def defined_columns(parsed: ParsedMigration) -> Iterator[tuple[str, ColumnDef, bool]]:
    """``(table, column, added by ALTER)`` for each column the migration defines."""
    for index in parsed.indexes("CREATE", "ALTER"):
        statement, shape = parsed.statements[index], parsed.shapes[index]
        if index in parsed.tables and shape.name:
            for column in parsed.tables[index].columns:
                yield shape.name, column, False
        elif shape.action == "ADD COLUMN" and shape.name:
            added = added_column(statement)
            if added is not None:
                yield shape.name, added, True


def is_timestamp(column: ColumnDef) -> bool:
    """Named like a point in time (``*_at``) or declared with a date/time type."""
    return column.name.endswith("_at") or any(word in column.type.split() for word in _TIME_TYPES)


def check_timestamps(ctx: Context) -> Iterator[Finding]:
    """S003: timestamps are TEXT with DEFAULT (datetime('now'))."""
    for table, column, added in defined_columns(ctx.migration):
        if not is_timestamp(column):
            continue
        problem = _timestamp_problem(column, added)
        if problem:
            yield ctx.finding(
                "S003",
                column.line,
                f"{table}.{column.name} {problem}; the convention is TEXT DEFAULT (datetime('now')) "
                "(ISO-8601 text that sorts and compares as a string)",
            )


def _timestamp_problem(column: ColumnDef, added: bool) -> str | None:
    if column.type != "TEXT":
        return f"is declared {column.type or 'without a type'}"
    if column.default is not None and not _is_datetime_now(column.default):
        return "defaults to " + "".join(t.text for t in column.default)
    if column.default is None and column.name in _ALWAYS_DEFAULTED and not added:
        return "has no default"
    return None


def _is_datetime_now(tokens: tuple[Token, ...]) -> bool:
    return any(t.is_word("DATETIME", "STRFTIME") for t in tokens)


def check_foreign_key_indexes(ctx: DatabaseContext) -> Iterator[Finding]:
    """S002: a foreign key of the final schema whose child columns no index leads with."""
    final = ctx.replay.final if ctx.replay else None
    if final is None:
        return
    declared = _declarations(ctx.migrations)
    for table in final.tables:
        for key in table.foreign_keys:
            if _indexed(table, key):
                continue
            where = declared.get((table.name.lower(), tuple(c.lower() for c in key.columns)))
            if where is not None:
                yield _missing_index(where, table.name, key)


def _declarations(
    migrations: tuple[ParsedMigration, ...],
) -> dict[tuple[str, tuple[str, ...]], tuple[ParsedMigration, Reference]]:
    """The last declaration of each foreign key, by (table, columns)."""
    found: dict[tuple[str, tuple[str, ...]], tuple[ParsedMigration, Reference]] = {}
    for parsed in migrations:
        renamed = {r.scratch: r.table for r in parsed.recreations}
        for index, shape in enumerate(parsed.shapes):
            for reference in _references(parsed, index):
                table = renamed.get(shape.name or "", shape.name or "")
                found[(table, reference.columns)] = (parsed, reference)
    return found


def _references(parsed: ParsedMigration, index: int) -> tuple[Reference, ...]:
    if index in parsed.tables:
        return parsed.tables[index].references
    if parsed.shapes[index].action == "ADD COLUMN":
        column = added_column(parsed.statements[index])
        return (column.reference,) if column and column.reference else ()
    return ()


def _indexed(table: Table, key: ForeignKey) -> bool:
    wanted = {c.lower() for c in key.columns}
    alias = table.rowid_alias()
    if alias is not None and wanted == {alias.lower()}:
        return True
    return any(
        {(c or "").lower() for c in index.columns[: len(wanted)]} == wanted
        for index in table.indexes
    )


def _missing_index(
    where: tuple[ParsedMigration, Reference], table: str, key: ForeignKey
) -> Finding:
    parsed, reference = where
    columns = ", ".join(key.columns)
    name = f"idx_{table}_{'_'.join(key.columns)}"
    return Context(parsed).finding(
        "S002",
        reference.line,
        f"foreign key {table}({columns}) → {key.table} has no index: deletes and updates on "
        f"{key.table} scan {table}, and joins are slow; add "
        f"CREATE INDEX IF NOT EXISTS {name} ON {table}({columns})",
    )
