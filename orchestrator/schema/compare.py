"""Structural comparison of two schema snapshots: what is missing, extra or different.

Tables, columns (type, nullability, default, primary key), foreign keys, CHECK
constraints and table options are compared as data read through PRAGMAs (plus
the few facts only the ``CREATE TABLE`` text holds); indexes, triggers and views
by their canonical SQL (``sqlnorm``), so whitespace, quoting, ``IF NOT EXISTS``
and column order in ``CREATE`` text are never drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from orchestrator.checks.columns import parse_table
from orchestrator.checks.schema import Column, ForeignKey, Index, SchemaSnapshot, Table
from orchestrator.schema.sqlnorm import (
    compact,
    normalize_expression,
    normalize_sql,
    normalize_tokens,
    normalize_type,
    statement_tokens,
    strip_parens,
)


class Change(StrEnum):
    """How an object of the expected schema and the actual one differ."""

    MISSING = "missing"
    EXTRA = "extra"
    DIFFERENT = "different"


@dataclass(frozen=True)
class Difference:
    """One drift: ``kind`` is table, column, index, constraint, foreign key, check,
    table option, trigger or view; ``expected``/``actual`` describe each side."""

    kind: str
    change: Change
    name: str
    table: str | None = None
    expected: str | None = None
    actual: str | None = None

    @property
    def subject(self) -> str:
        """``column stripe_events.processed_at: TEXT``: the object and what it is."""
        shown = self.expected if self.change is not Change.EXTRA else self.actual
        if self.change is Change.DIFFERENT or not shown:
            return f"{self.kind} {self.name}"
        return f"{self.kind} {self.name}: {shown}"

    @property
    def message(self) -> str:
        """One sentence for people and machines."""
        if self.change is Change.MISSING:
            return f"{self.subject} is missing from the target"
        if self.change is Change.EXTRA:
            return f"{self.subject} is in the target, but no applied migration creates it"
        return (
            f"{self.subject} differs: migrations give {self.expected}, the target has {self.actual}"
        )


def compare_schemas(expected: SchemaSnapshot, actual: SchemaSnapshot) -> tuple[Difference, ...]:
    """Every difference between the schema migrations produce and the target's, sorted."""
    found = list(_compare_tables(expected, actual))
    found += _compare_named("trigger", _others(expected, "trigger"), _others(actual, "trigger"))
    found += _compare_named("view", _others(expected, "view"), _others(actual, "view"))
    return tuple(sorted(found, key=lambda d: (d.table or d.name, d.kind, d.name)))


def without(snapshot: SchemaSnapshot, ignored: Callable[[str], bool]) -> SchemaSnapshot:
    """``snapshot`` minus the tables ``ignored`` names, and what hangs off them."""
    tables = tuple(t for t in snapshot.tables if not ignored(t.name))
    others = tuple(
        o for o in snapshot.others if not ignored(o.name) and not ignored(o.table or o.name)
    )
    return SchemaSnapshot(tables, others)


def _compare_tables(expected: SchemaSnapshot, actual: SchemaSnapshot) -> Iterator[Difference]:
    mine = {t.name.lower(): t for t in expected.tables}
    theirs = {t.name.lower(): t for t in actual.tables}
    for name in sorted(mine.keys() - theirs.keys()):
        yield Difference("table", Change.MISSING, mine[name].name, mine[name].name)
    for name in sorted(theirs.keys() - mine.keys()):
        yield Difference("table", Change.EXTRA, theirs[name].name, theirs[name].name)
    for name in sorted(mine.keys() & theirs.keys()):
        yield from compare_table(mine[name], theirs[name], expected, actual)


def compare_table(
    expected: Table, actual: Table, left: SchemaSnapshot, right: SchemaSnapshot
) -> Iterator[Difference]:
    """Columns, keys, constraints, options and indexes of one table present on both sides."""
    if expected.virtual or actual.virtual:
        yield from _compare_text("table", expected.name, expected.name, expected.sql, actual.sql)
        return
    yield from _compare_columns(expected, actual)
    yield from _compare_sets(
        "foreign key", expected.name, _keys(expected, left), _keys(actual, right)
    )
    yield from _compare_sets("check", expected.name, table_checks(expected), table_checks(actual))
    yield from _compare_sets(
        "table option", expected.name, table_options(expected), table_options(actual)
    )
    yield from _compare_sets(
        "constraint", expected.name, _constraints(expected), _constraints(actual)
    )
    indexes = _compare_named("index", _created_indexes(expected), _created_indexes(actual))
    yield from (replace(d, table=expected.name) for d in indexes)


def _compare_columns(expected: Table, actual: Table) -> Iterator[Difference]:
    mine = {c.name.lower(): c for c in expected.columns}
    theirs = {c.name.lower(): c for c in actual.columns}
    table = expected.name
    for name in sorted(mine.keys() - theirs.keys()):
        column = mine[name]
        yield Difference(
            "column", Change.MISSING, f"{table}.{column.name}", table, describe(column)
        )
    for name in sorted(theirs.keys() - mine.keys()):
        column = theirs[name]
        yield Difference(
            "column", Change.EXTRA, f"{table}.{column.name}", table, actual=describe(column)
        )
    for name in sorted(mine.keys() & theirs.keys()):
        left, right = describe(mine[name]), describe(theirs[name])
        if left != right:
            yield Difference(
                "column", Change.DIFFERENT, f"{table}.{mine[name].name}", table, left, right
            )


def describe(column: Column) -> str:
    """``TEXT NOT NULL DEFAULT 'free'``: the facts compared for a column, in canonical form."""
    parts = [normalize_type(column.type) or "(no type)"]
    parts += ["NOT NULL"] if column.not_null else []
    parts += [f"DEFAULT {normalize_expression(column.default)}"] if column.default else []
    parts += [f"PRIMARY KEY #{column.pk}"] if column.pk else []
    parts += ["GENERATED"] if column.hidden in (2, 3) else []
    return " ".join(parts)


def _keys(table: Table, snapshot: SchemaSnapshot) -> set[str]:
    return {describe_key(key, snapshot) for key in table.foreign_keys}


def describe_key(key: ForeignKey, snapshot: SchemaSnapshot) -> str:
    """``(template_id) -> templates(id) ON DELETE CASCADE``; an implicit parent key is resolved."""
    parent = snapshot.table(key.table)
    targets = list(key.parent_columns)
    if parent is not None and any(t is None for t in targets):
        keys = [c.name for c in sorted(parent.columns, key=lambda c: c.pk) if c.pk]
        targets = [
            t if t is not None else (keys[i] if i < len(keys) else None)
            for i, t in enumerate(targets)
        ]
    columns = ", ".join(c.lower() for c in key.columns)
    parents = ", ".join((t or "?").lower() for t in targets)
    actions = f"ON DELETE {key.on_delete} ON UPDATE {key.on_update}"
    return f"({columns}) -> {key.table.lower()}({parents}) {actions}"


def table_checks(table: Table) -> set[str]:
    """CHECK expressions of a table (column and table constraints), canonical."""
    parsed = parse_table(statement_tokens(table.sql))
    if parsed is None:
        return set()
    found = {f"CHECK ({strip_parens(normalize_tokens(c))})" for c in parsed.checks}
    for column in parsed.columns:
        found |= {
            f"{column.name}: CHECK ({strip_parens(normalize_tokens(c))})" for c in column.checks
        }
    return found


def table_options(table: Table) -> set[str]:
    """``WITHOUT ROWID``, ``STRICT`` and ``AUTOINCREMENT``, as far as the table uses them."""
    words = normalize_sql(table.sql).split()
    options = {"AUTOINCREMENT"} if "autoincrement" in words else set()
    tail = words[_closing(words) + 1 :]
    options |= {"WITHOUT ROWID"} if "without" in tail else set()
    options |= {"STRICT"} if "strict" in tail else set()
    return options


def _closing(words: list[str]) -> int:
    depth, last = 0, len(words) - 1
    for index, word in enumerate(words):
        depth += 1 if word == "(" else -1 if word == ")" else 0
        if word == ")" and depth == 0:
            last = index
    return last


def _constraints(table: Table) -> set[str]:
    """Automatic indexes (PRIMARY KEY, UNIQUE) by what they cover; their names are SQLite's."""
    return {
        f"{'PRIMARY KEY' if i.origin == 'pk' else 'UNIQUE'} ({', '.join((c or '?').lower() for c in i.columns)})"
        for i in table.indexes
        if i.origin != "c"
    }


@dataclass(frozen=True)
class _Entry:
    """A named object: what is compared (canonical SQL) and what is shown."""

    name: str
    key: str
    shown: str
    table: str | None = None


def _created_indexes(table: Table) -> dict[str, _Entry]:
    return {i.name.lower(): _index_entry(i) for i in table.indexes if i.origin == "c"}


def _index_entry(index: Index) -> _Entry:
    words = normalize_sql(index.sql).split()
    key = " ".join(words[words.index("on") :] if "on" in words else words)
    unique = "UNIQUE " if index.unique else ""
    columns = ", ".join(c if c is not None else "<expression>" for c in index.columns)
    where = index.shape[3]
    shown = f"{unique}({columns})" + (f" WHERE {compact(where)}" if where else "")
    return _Entry(index.name, f"{unique}{key}", shown)


def _others(snapshot: SchemaSnapshot, kind: str) -> dict[str, _Entry]:
    return {
        o.name.lower(): _Entry(
            o.name,
            normalize_sql(o.sql),
            compact(normalize_sql(o.sql)),
            o.table if kind == "trigger" else None,
        )
        for o in snapshot.others
        if o.type == kind
    }


def _compare_named(
    kind: str, mine: dict[str, _Entry], theirs: dict[str, _Entry]
) -> list[Difference]:
    found = [
        Difference(kind, Change.MISSING, mine[k].name, mine[k].table, mine[k].shown)
        for k in sorted(mine.keys() - theirs.keys())
    ]
    found += [
        Difference(kind, Change.EXTRA, theirs[k].name, theirs[k].table, actual=theirs[k].shown)
        for k in sorted(theirs.keys() - mine.keys())
    ]
    for k in sorted(mine.keys() & theirs.keys()):
        left, right = mine[k], theirs[k]
        if left.key != right.key:
            shown = (
                (left.shown, right.shown) if left.shown != right.shown else (left.key, right.key)
            )
            found.append(
                Difference(
                    kind,
                    Change.DIFFERENT,
                    left.name,
                    left.table,
                    compact(shown[0]),
                    compact(shown[1]),
                )
            )
    return found


def _compare_text(kind: str, name: str, table: str, left: str, right: str) -> Iterator[Difference]:
    if normalize_sql(left) != normalize_sql(right):
        yield Difference(
            kind, Change.DIFFERENT, name, table, normalize_sql(left), normalize_sql(right)
        )


def _compare_sets(
    kind: str, table: str, mine: Iterable[str], theirs: Iterable[str]
) -> Iterator[Difference]:
    left, right = set(mine), set(theirs)
    for text in sorted(left - right):
        yield Difference(kind, Change.MISSING, f"{table}: {text}", table, text)
    for text in sorted(right - left):
        yield Difference(kind, Change.EXTRA, f"{table}: {text}", table, actual=text)
