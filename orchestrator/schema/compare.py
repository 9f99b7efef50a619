"""Structural comparison of two schema snapshots: what is missing, extra or different.

Tables, columns (type, nullability, default, primary key), foreign keys, CHECK
constraints and table options are compared as data read through PRAGMAs (plus
the few facts only the ``CREATE TABLE`` text holds); indexes, triggers and views
by their canonical SQL (``sqlnorm``), so whitespace, quoting, ``IF NOT EXISTS``
and column order in ``CREATE`` text are never drift.

This is the one schema comparator: ``verify``, ``revert``, fleets and ``adopt`` use it.
``compare_schemas`` lists differences; ``schema_facts`` gives the same comparison as
hashable facts (``adopt`` intersects one target with every prefix of the plan).
"""

from __future__ import annotations

import functools
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from orchestrator.checks.columns import parse_table
from orchestrator.checks.schema import (
    Column,
    ForeignKey,
    Index,
    SchemaSnapshot,
    Table,
    snapshot_schema,
)
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
    # Columns, checks and options follow from the CREATE text and PRAGMA's columns alone:
    # where both are the same (nearly always), they cannot differ, and parsing is the cost.
    same_text = expected.sql == actual.sql and expected.columns == actual.columns
    if not same_text:
        yield from _compare_columns(expected, actual)
    yield from _compare_sets(
        "foreign key", expected.name, _keys(expected, left), _keys(actual, right)
    )
    if not same_text:
        checks = table_checks(expected), table_checks(actual)
        yield from _compare_sets("check", expected.name, *checks)
        options = table_options(expected), table_options(actual)
        yield from _compare_sets("table option", expected.name, *options)
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
            "column", Change.MISSING, f"{table}.{column.name}", table, column_text(expected, column)
        )
    for name in sorted(theirs.keys() - mine.keys()):
        column = theirs[name]
        yield Difference(
            "column",
            Change.EXTRA,
            f"{table}.{column.name}",
            table,
            actual=column_text(actual, column),
        )
    for name in sorted(mine.keys() & theirs.keys()):
        left, right = column_text(expected, mine[name]), column_text(actual, theirs[name])
        if left != right:
            yield Difference(
                "column", Change.DIFFERENT, f"{table}.{mine[name].name}", table, left, right
            )


def describe(column: Column, collation: str = "") -> str:
    """``TEXT NOT NULL DEFAULT 'free' COLLATE NOCASE``: the facts compared for a column, in
    canonical form (``collation``: its COLLATE, which PRAGMA table_xinfo does not report)."""
    parts = [normalize_type(column.type) or "(no type)"]
    parts += ["NOT NULL"] if column.not_null else []
    parts += [f"DEFAULT {normalize_expression(column.default)}"] if column.default else []
    parts += [f"PRIMARY KEY #{column.pk}"] if column.pk else []
    parts += ["GENERATED"] if column.hidden in (2, 3) else []
    parts += [f"COLLATE {collation}"] if collation else []
    return " ".join(parts)


def column_text(table: Table, column: Column) -> str:
    """``describe`` of a column of ``table``, its collation read from the table's CREATE text."""
    return describe(column, _collations(table.sql).get(column.name.lower(), ""))


@functools.lru_cache(maxsize=4096)
def _collations(sql: str) -> dict[str, str]:
    """``{column: collation}`` of the columns a ``CREATE TABLE`` text gives a COLLATE other
    than SQLite's default, BINARY (so ``COLLATE BINARY`` is the same as none). Read-only."""
    definition = parse_table(statement_tokens(sql))
    if definition is None:
        return {}
    return {
        c.name.lower(): c.collation
        for c in definition.columns
        if c.collation and c.collation != "BINARY"
    }


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
    return set(_checks_of(table.sql))


@functools.lru_cache(maxsize=4096)
def _checks_of(sql: str) -> frozenset[str]:
    parsed = parse_table(statement_tokens(sql))
    if parsed is None:
        return frozenset()
    found = {f"CHECK ({strip_parens(normalize_tokens(c))})" for c in parsed.checks}
    for column in parsed.columns:
        found |= {
            f"{column.name}: CHECK ({strip_parens(normalize_tokens(c))})" for c in column.checks
        }
    return frozenset(found)


def table_options(table: Table) -> set[str]:
    """``WITHOUT ROWID``, ``STRICT`` and ``AUTOINCREMENT``, as far as the table uses them."""
    return set(_options_of(table.sql))


@functools.lru_cache(maxsize=4096)
def _options_of(sql: str) -> frozenset[str]:
    words = normalize_sql(sql).split()
    options = {"AUTOINCREMENT"} if "autoincrement" in words else set()
    tail = words[_closing(words) + 1 :]
    options |= {"WITHOUT ROWID"} if "without" in tail else set()
    options |= {"STRICT"} if "strict" in tail else set()
    return frozenset(options)


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


@functools.lru_cache(maxsize=4096)
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


# --- The same comparison as sets of facts (``adopt``) -------------------------------
# ``adopt`` compares one target against every prefix of the plan, so it wants hashable
# facts it can intersect and count. Each fact's key is the canonical description the
# difference comparison above uses (``describe``, ``describe_key``, ``table_checks``,
# ``table_options``, the constraints and the canonical index/trigger/view SQL), so the
# two views of a schema can never disagree on what is equal.

# What the rebuild never recreates: SQLite's and D1's own objects.
_INTERNAL_PREFIXES = ("sqlite_", "_cf_")
_BUILD_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}
_PARTS = ("column", "index", "foreign key", "check", "table option")


@dataclass(frozen=True)
class Fact:
    """One structural fact; ``key`` decides equality (``key[0]`` is the table, or the
    trigger's or view's own name), ``text`` is for people."""

    kind: str
    key: tuple[object, ...]
    text: str = field(compare=False)


@dataclass(frozen=True)
class SchemaDiff:
    """How an actual schema stands against an expected one, as facts."""

    matched: tuple[Fact, ...]
    missing: tuple[Fact, ...]
    extra: tuple[Fact, ...]

    @property
    def equal(self) -> bool:
        return not self.missing and not self.extra


def schema_facts(snapshot: SchemaSnapshot, ignore: Collection[str] = ()) -> frozenset[Fact]:
    """Every fact of ``snapshot``, leaving out the tables named in ``ignore`` (any case)."""
    skip = {name.lower() for name in ignore}
    kept = without(snapshot, lambda name: name.lower() in skip)
    facts: set[Fact] = set()
    for table in kept.tables:
        facts |= _table_facts(table, kept)
    for kind in ("trigger", "view"):
        for key, entry in _others(kept, kind).items():
            on = f" on {entry.table}" if entry.table else ""
            facts.add(Fact(kind, (key, entry.key), f"{kind} {entry.name}{on}"))
    return frozenset(facts)


def _table_facts(table: Table, snapshot: SchemaSnapshot) -> set[Fact]:
    name = table.name.lower()
    if table.virtual:  # compared by its text, as compare_table does
        return {
            Fact("table", (name, True, normalize_sql(table.sql)), f"virtual table {table.name}")
        }
    facts = {Fact("table", (name, False), f"table {table.name}")}
    facts |= {
        Fact(
            "column",
            (name, c.name.lower(), column_text(table, c), c.hidden),
            f"column {table.name}.{c.name} {_shown_column(table, c)}",
        )
        for c in table.columns
    }
    for key in table.foreign_keys:
        described = describe_key(key, snapshot)
        target = f"{key.table}({', '.join(c or 'rowid' for c in key.parent_columns)})"
        actions = f" ON DELETE {key.on_delete}" if key.on_delete.upper() != "NO ACTION" else ""
        text = f"foreign key {table.name}({', '.join(key.columns)}) -> {target}{actions}"
        facts.add(Fact("foreign key", (name, described), text))
    for check in table_checks(table):
        column, _, clause = (
            ("", "", check) if check.startswith("CHECK (") else check.partition(": ")
        )
        on = f" (column {column})" if column else ""
        facts.add(Fact("check", (name, check), f"check on {table.name}: {clause}{on}"))
    facts |= {
        Fact("table option", (name, option), f"table option on {table.name}: {option}")
        for option in table_options(table)
    }
    for index in table.indexes:
        if index.origin != "c":  # made by UNIQUE or PRIMARY KEY: its name is SQLite's
            continue
        columns = ", ".join(c or "<expr>" for c in index.columns)
        unique = "unique " if index.unique else ""
        entry = _index_entry(index)
        text = f"{unique}index {index.name} on {table.name}({columns})"
        facts.add(Fact("index", (name, index.name.lower(), entry.key), text))
    facts |= {
        Fact("index", (name, None, constraint), f"constraint on {table.name}: {constraint}")
        for constraint in _constraints(table)
    }
    return facts


def _shown_column(table: Table, column: Column) -> str:
    kind = column.type.upper()
    details = [kind or "(no type)"]
    details += ["NOT NULL"] if column.not_null else []
    details += [f"DEFAULT {column.default}"] if column.default is not None else []
    details += ["PRIMARY KEY"] if column.pk else []
    collation = _collations(table.sql).get(column.name.lower())
    details += [f"COLLATE {collation}"] if collation else []
    return " ".join(details)


def compare_facts(expected: frozenset[Fact], actual: frozenset[Fact]) -> SchemaDiff:
    """What both have, what ``actual`` lacks, and what it has beyond ``expected``."""
    return SchemaDiff(
        ordered(expected & actual), ordered(expected - actual), ordered(actual - expected)
    )


def ordered(facts: Iterable[Fact]) -> tuple[Fact, ...]:
    """Facts in a stable order for people: by table, then kind, then text."""
    return tuple(sorted(facts, key=lambda f: (str(f.key[0]), f.kind != "table", f.kind, f.text)))


def summarize(facts: Iterable[Fact]) -> str:
    """``"5 tables, 31 columns, 7 indexes"``."""
    counts = Counter(f.kind for f in facts)
    plural = {"index": "indexes"}
    parts = [f"{n} {plural.get(k, k + 's') if n != 1 else k}" for k, n in sorted(counts.items())]
    return ", ".join(parts) or "nothing"


def fold_tables(facts: Iterable[Fact]) -> tuple[str, ...]:
    """Facts for people: a whole table's columns, indexes and keys fold into its own line."""
    facts = ordered(facts)
    whole = {f.key[0]: f for f in facts if f.kind == "table"}
    parts: dict[object, list[Fact]] = {name: [] for name in whole}
    lines: list[str] = []
    for fact in facts:
        if fact.kind in _PARTS and fact.key[0] in whole:
            parts[fact.key[0]].append(fact)
    for fact in facts:
        if fact.kind == "table":
            inside = summarize(parts[fact.key[0]])
            lines.append(fact.text + (f" (with {inside})" if parts[fact.key[0]] else ""))
        elif not (fact.kind in _PARTS and fact.key[0] in whole):
            lines.append(fact.text)
    return tuple(lines)


def rebuild_schema(
    rows: Iterable[tuple[str, str, str | None]], ignore: Collection[str] = ()
) -> SchemaSnapshot:
    """Recreate a database's schema from its ``sqlite_master`` rows ``(type, name, sql)``
    in memory (no data) and snapshot it.

    This is how a target reached only through SQL batches (D1's API) is measured
    with the same PRAGMAs as a shadow. Tables an FTS5 table makes for itself
    already exist when their turn comes, and are skipped.
    """
    skip = {name.lower() for name in ignore}
    wanted = [
        (kind, name, sql)
        for kind, name, sql in rows
        if sql
        and kind in _BUILD_ORDER
        and name.lower() not in skip
        and not name.lower().startswith(_INTERNAL_PREFIXES)
    ]
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for kind, name, sql in sorted(wanted, key=lambda r: _BUILD_ORDER[r[0]]):
            _create(conn, kind, name, sql)
        return snapshot_schema(conn)
    finally:
        conn.close()


def _create(conn: sqlite3.Connection, kind: str, name: str, sql: str) -> None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = ? COLLATE NOCASE", (name,)
    ).fetchone()
    if exists is None:
        try:
            conn.execute(sql)
        except sqlite3.Error as exc:
            raise ValueError(f"cannot rebuild {kind} {name}: {exc}") from None
