"""Compare two structural schema snapshots: tables, columns, indexes, foreign keys,
views and triggers, by what they are rather than by their SQL text.

A snapshot becomes a set of ``Fact``s; two schemas are equal when their sets are.
``adopt`` uses this to find how far a hand-migrated database got; ``verify`` can
use it to find drift. Names compare case-insensitively, as SQLite resolves them.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from orchestrator.checks.schema import (
    Column,
    ForeignKey,
    Index,
    SchemaSnapshot,
    Table,
    snapshot_schema,
)
from orchestrator.sqltext import Kind, Token, tokenize

# What the rebuild never recreates: SQLite's and D1's own objects.
_INTERNAL_PREFIXES = ("sqlite_", "_cf_")
_BUILD_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}


@dataclass(frozen=True)
class Fact:
    """One structural fact; ``key`` decides equality, ``text`` is for people."""

    kind: str
    key: tuple[object, ...]
    text: str = field(compare=False)


@dataclass(frozen=True)
class SchemaDiff:
    """How an actual schema stands against an expected one."""

    matched: tuple[Fact, ...]
    missing: tuple[Fact, ...]
    extra: tuple[Fact, ...]

    @property
    def equal(self) -> bool:
        return not self.missing and not self.extra


def schema_facts(snapshot: SchemaSnapshot, ignore: Collection[str] = ()) -> frozenset[Fact]:
    """Every fact of ``snapshot``, leaving out the tables named in ``ignore``."""
    skip = {name.lower() for name in ignore}
    facts: set[Fact] = set()
    for table in snapshot.tables:
        if table.name.lower() not in skip:
            facts |= table_facts(table)
    for other in snapshot.others:
        if other.name.lower() not in skip and other.table.lower() not in skip:
            on = f" on {other.table}" if other.type == "trigger" else ""
            facts.add(Fact(other.type, (other.name.lower(),), f"{other.type} {other.name}{on}"))
    return frozenset(facts)


def table_facts(table: Table) -> set[Fact]:
    """The table itself, its columns, indexes and foreign keys."""
    name = table.name.lower()
    kind = "virtual table" if table.virtual else "table"
    facts = {Fact("table", (name, table.virtual), f"{kind} {table.name}")}
    facts |= {_column_fact(table.name, c) for c in table.columns}
    facts |= {_index_fact(table.name, i) for i in table.indexes}
    facts |= {_key_fact(table.name, k) for k in table.foreign_keys}
    facts |= {
        Fact("check", (name, clause), f"check on {table.name}: CHECK {clause}")
        for clause in check_clauses(table.sql)
    }
    return facts


def check_clauses(sql: str) -> tuple[str, ...]:
    """The CHECK constraints of a CREATE TABLE, token by token (case and spacing ignored).

    No PRAGMA reports them, yet changing one is what the table-recreation pattern is for.
    """
    tokens = [t for t in tokenize(sql) if t.is_code]
    clauses = []
    for at, token in enumerate(tokens[:-1]):
        if token.is_word("CHECK") and tokens[at + 1].text == "(":
            clauses.append(_balanced(tokens[at + 1 :]))
    return tuple(sorted(clauses))


def _balanced(tokens: list[Token]) -> str:
    depth, words = 0, []
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        words.append(token.text if token.kind is Kind.STRING else token.name)
        if depth == 0:
            break
    return " ".join(words)


def _column_fact(table: str, column: Column) -> Fact:
    kind = column.type.upper()
    key = (
        table.lower(),
        column.name.lower(),
        kind,
        column.not_null,
        column.default,
        column.pk,
        column.hidden,
    )
    details = [kind or "(no type)"]
    details += ["NOT NULL"] if column.not_null else []
    details += [f"DEFAULT {column.default}"] if column.default is not None else []
    details += ["PRIMARY KEY"] if column.pk else []
    return Fact("column", key, f"column {table}.{column.name} {' '.join(details)}")


def _index_fact(table: str, index: Index) -> Fact:
    columns = tuple((c or "<expr>").lower() for c in index.columns)
    shown = f"{table}({', '.join(c or '<expr>' for c in index.columns)})"
    unique = "unique " if index.unique else ""
    if index.origin != "c":  # made by UNIQUE or PRIMARY KEY: its name is SQLite's, not ours
        return Fact(
            "index",
            (table.lower(), None, columns, index.unique, index.origin),
            f"{unique}constraint on {shown}",
        )
    key = (table.lower(), index.name.lower(), *index.shape[1:], columns)
    return Fact("index", key, f"{unique}index {index.name} on {shown}")


def _key_fact(table: str, key: ForeignKey) -> Fact:
    columns = tuple(c.lower() for c in key.columns)
    parent = tuple((c or "").lower() for c in key.parent_columns)
    value = (
        table.lower(),
        columns,
        key.table.lower(),
        parent,
        key.on_delete.upper(),
        key.on_update.upper(),
    )
    target = f"{key.table}({', '.join(c or 'rowid' for c in key.parent_columns)})"
    actions = f" ON DELETE {key.on_delete}" if key.on_delete.upper() != "NO ACTION" else ""
    return Fact(
        "foreign key", value, f"foreign key {table}({', '.join(key.columns)}) -> {target}{actions}"
    )


def compare_schemas(expected: frozenset[Fact], actual: frozenset[Fact]) -> SchemaDiff:
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


_PARTS = ("column", "index", "foreign key", "check")


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
