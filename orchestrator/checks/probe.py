"""The data-loss probe: give every table a few synthetic rows that satisfy its
constraints, run the migration, and see which tables lost rows (or, through
ON DELETE SET NULL, foreign-key values) that the migration never deleted.

Everything happens inside a savepoint that is rolled back, so the probe rows
never reach the replay that follows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from orchestrator.checks.columns import TableDef, literals, parse_table
from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.schema import Column, SchemaSnapshot, Table, snapshot_schema
from orchestrator.sqltext import split_statements

ROWS_PER_TABLE = 3
_ATTEMPTS = 12
_SAVEPOINT = "orchestrate_probe"
_DEFAULT = object()  # candidate meaning "leave the column to its DEFAULT"
Measure = tuple[str, str | None]


@dataclass(frozen=True)
class RowLoss:
    """``table`` held ``before`` rows (or non-NULL ``column`` values) and ``after`` remain."""

    table: str
    before: int
    after: int
    column: str | None = None


def probe_losses(
    conn: sqlite3.Connection, script: ParsedMigration, run: Callable[[], bool]
) -> tuple[RowLoss, ...]:
    """Fill, count, ``run()`` the migration, count again, roll everything back."""
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        snapshot = snapshot_schema(conn)
        fill_tables(conn, snapshot)
        measures = _measures(snapshot)
        before = count(conn, measures)
        if not run():
            return ()
        after = count(conn, measures)
    finally:
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            conn.execute(f"RELEASE {_SAVEPOINT}")
    return _losses(before, after, _intended(script))


def _measures(snapshot: SchemaSnapshot) -> list[Measure]:
    measures: list[Measure] = []
    for table in snapshot.tables:
        if table.virtual:
            continue
        measures.append((table.name, None))
        nulled = {c for fk in table.foreign_keys if fk.on_delete == "SET NULL" for c in fk.columns}
        measures.extend((table.name, column) for column in sorted(nulled))
    return measures


def count(conn: sqlite3.Connection, measures: list[Measure]) -> dict[Measure, int]:
    """Rows per table (``column`` None) or non-NULL values per column; gone tables are left out."""
    result: dict[Measure, int] = {}
    for table, column in measures:
        target = f'"{_quote(column)}"' if column else "*"
        try:
            row = conn.execute(f'SELECT count({target}) FROM "{_quote(table)}"').fetchone()
        except sqlite3.OperationalError:  # dropped, or the column is gone
            continue
        result[(table, column)] = int(row[0])
    return result


def _intended(script: ParsedMigration) -> set[str]:
    # Tables the migration deletes from, drops, recreates or updates on purpose.
    names = {s.name for s in script.shapes if s.verb in ("DELETE", "UPDATE") or s.is_drop()}
    names |= {r.table for r in script.recreations}
    return {n for n in names if n}


def _losses(
    before: dict[Measure, int], after: dict[Measure, int], intended: set[str]
) -> tuple[RowLoss, ...]:
    lost = []
    for (table, column), was in before.items():
        now = after.get((table, column))
        if now is not None and now < was and table.lower() not in intended:
            lost.append(RowLoss(table, was, now, column))
    return tuple(lost)


def fill_tables(conn: sqlite3.Connection, snapshot: SchemaSnapshot) -> dict[str, int]:
    """Insert up to ``ROWS_PER_TABLE`` valid rows into every ordinary table, parents first."""
    inserted: dict[str, int] = {}
    for table in parents_first(snapshot):
        definition = _definition(table)
        inserted[table.name] = sum(
            insert_row(conn, table, definition, row) for row in range(ROWS_PER_TABLE)
        )
    return inserted


def parents_first(snapshot: SchemaSnapshot) -> list[Table]:
    """Ordinary tables ordered so each comes after the tables it refers to."""
    tables = {t.name.lower(): t for t in snapshot.tables if not t.virtual}
    graph = {
        name: {fk.table.lower() for fk in t.foreign_keys if fk.table.lower() in tables} - {name}
        for name, t in tables.items()
    }
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError:
        order = sorted(tables)
    return [tables[name] for name in order]


def _definition(table: Table) -> TableDef | None:
    statements = split_statements(table.sql)
    return parse_table(statements[0].tokens) if statements else None


def insert_row(
    conn: sqlite3.Connection, table: Table, definition: TableDef | None, row: int
) -> bool:
    """Try candidate values until SQLite accepts a row; False when none fits."""
    columns = [c for c in table.columns if c.hidden == 0]
    options = {c.name: candidates(conn, table, c, definition, row) for c in columns}
    if any(not opts for opts in options.values()):
        return False  # e.g. a NOT NULL foreign key whose parent table holds no row
    choice = dict.fromkeys(options, 0)
    for _ in range(_ATTEMPTS):
        values = {name: opts[choice[name] % len(opts)] for name, opts in options.items()}
        given = {name: value for name, value in values.items() if value is not _DEFAULT}
        try:
            conn.execute(_insert_sql(table.name, list(given)), list(given.values()))
            return True
        except sqlite3.IntegrityError as exc:
            for name in blame(str(exc), table, options):
                choice[name] += 1
        except sqlite3.Error:
            return False
    return False


def _insert_sql(table: str, names: list[str]) -> str:
    if not names:
        return f'INSERT INTO "{_quote(table)}" DEFAULT VALUES'
    columns = ", ".join(f'"{_quote(n)}"' for n in names)
    return f'INSERT INTO "{_quote(table)}" ({columns}) VALUES ({", ".join("?" * len(names))})'


def candidates(
    conn: sqlite3.Connection, table: Table, column: Column, definition: TableDef | None, row: int
) -> list[object]:
    """Values to try for one column of synthetic row ``row``, best first."""
    if column.name == table.rowid_alias():
        return [_DEFAULT]
    parents = _parent_values(conn, table, column.name, row)
    if parents is not None:
        return [*parents, *([] if column.not_null else [None])]
    options: list[object] = [_DEFAULT] if column.default is not None else []
    options += _check_values(column.name, definition, row)
    options += _typed(column, row)
    if not column.not_null:
        options.append(None)
    return options


def _parent_values(
    conn: sqlite3.Connection, table: Table, name: str, row: int
) -> list[object] | None:
    for fk in table.foreign_keys:
        if name not in fk.columns:
            continue
        target = fk.parent_columns[fk.columns.index(name)] or "rowid"
        try:
            found = conn.execute(
                f'SELECT "{_quote(target)}" FROM "{_quote(fk.table)}" LIMIT 10'
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        values = [value for (value,) in found]
        return values[row % len(values) :] + values[: row % len(values)] if values else []
    return None


def _check_values(name: str, definition: TableDef | None, row: int) -> list[object]:
    if definition is None:
        return []
    column = definition.column(name.lower())
    checks = list(column.checks if column else ())
    checks += [c for c in definition.checks if any(t.name == name.lower() for t in c)]
    values: list[object] = [v for check in checks for v in literals(check)]
    return values[row % len(values) :] + values[: row % len(values)] if values else []


def _typed(column: Column, row: int) -> list[object]:
    kind = column.type.upper()
    if "INT" in kind:
        return [row + 1, row + 101, 0, 1]
    if any(word in kind for word in ("REAL", "FLOA", "DOUB")):
        return [row + 0.5, 0.0]
    if any(word in kind for word in ("CHAR", "CLOB", "TEXT")) or not kind:
        return [f"probe-{column.name}-{row}", "{}", f"probe{row}@example.com", "1"]
    return [row + 1, f"probe-{column.name}-{row}", b"\x00"]


def blame(message: str, table: Table, options: dict[str, list[object]]) -> Iterable[str]:
    """Columns a constraint error points at (every column with choices when unclear)."""
    movable = [name for name, opts in options.items() if len(opts) > 1]
    if "FOREIGN KEY" in message:
        keys = {c for fk in table.foreign_keys for c in fk.columns}
        return [n for n in movable if n in keys] or movable
    detail = message.split(":", 1)[-1]
    named = [n for n in movable if re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", detail, re.I)]
    return named or movable


def _quote(name: str) -> str:
    return name.replace('"', '""')
