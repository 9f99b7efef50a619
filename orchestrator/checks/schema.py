"""Structural schema snapshots of a SQLite connection, read through PRAGMAs.

``snapshot_schema`` reads every table's columns, foreign keys and indexes with a
handful of queries over the PRAGMA table-valued functions (``pragma_table_xinfo``,
``pragma_foreign_key_list``, ``pragma_index_list``, ``pragma_index_xinfo``), so it
stays cheap on large schemas. The same reads (``SNAPSHOT_QUERIES``) can run through
any engine, remote D1 included; ``snapshot_from_rows`` builds the snapshot from their
rows. ``schema_text`` is the cheaper fingerprint: the ``sqlite_master`` rows as
SQLite stores them.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Objects SQLite or D1 own; never part of a migration's schema.
_INTERNAL = "{0}name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND {0}name NOT LIKE '\\_cf\\_%' ESCAPE '\\'"
_USER = _INTERNAL.format("")
_USER_M = _INTERNAL.format("m.")


@dataclass(frozen=True)
class Column:
    """One column as ``PRAGMA table_xinfo`` reports it."""

    name: str
    type: str
    not_null: bool
    default: str | None
    pk: int
    hidden: int = 0


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of the owning table refer to ``table(parent_columns)``."""

    table: str
    columns: tuple[str, ...]
    parent_columns: tuple[str | None, ...]
    on_delete: str
    on_update: str


@dataclass(frozen=True)
class Index:
    """An index; ``origin`` is ``c`` (CREATE INDEX), ``u`` (UNIQUE) or ``pk``."""

    name: str
    table: str
    columns: tuple[str | None, ...]
    unique: bool
    origin: str
    partial: bool
    sql: str | None = None

    @property
    def shape(self) -> tuple[tuple[str | None, ...], bool, bool, str | None]:
        """What the index does, regardless of its name."""
        return (self.columns, self.unique, self.partial, _where(self.sql))


@dataclass(frozen=True)
class Table:
    """A table and what hangs off it."""

    name: str
    sql: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...]
    indexes: tuple[Index, ...]
    virtual: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        """Visible columns in declaration order (what ``SELECT *`` returns)."""
        return tuple(c.name for c in self.columns if c.hidden == 0)

    def rowid_alias(self) -> str | None:
        """The INTEGER PRIMARY KEY column, which is the rowid itself."""
        keys = [c for c in self.columns if c.pk]
        if (
            len(keys) == 1
            and keys[0].type.upper() == "INTEGER"
            and "WITHOUT ROWID" not in self.sql.upper()
        ):
            return keys[0].name
        return None


@dataclass(frozen=True)
class Other:
    """A view or trigger: its name, the table it is on (triggers) and its SQL."""

    type: str
    name: str
    table: str
    sql: str


@dataclass(frozen=True)
class SchemaSnapshot:
    """Every user table, view and trigger of a database at one moment."""

    tables: tuple[Table, ...]
    others: tuple[Other, ...]

    def table(self, name: str) -> Table | None:
        """The table called ``name`` (case-insensitive), if any."""
        lowered = name.lower()
        return next((t for t in self.tables if t.name.lower() == lowered), None)

    def references_to(self, parent: str) -> tuple[tuple[str, ForeignKey], ...]:
        """``(child table, foreign key)`` for every foreign key that refers to ``parent``."""
        lowered = parent.lower()
        return tuple(
            (t.name, fk)
            for t in self.tables
            for fk in t.foreign_keys
            if fk.table.lower() == lowered
        )


@dataclass(frozen=True)
class SnapshotQuery:
    """One read of a snapshot: plain ``SELECT`` over ``sqlite_master`` and the PRAGMA
    table-valued functions, with unique column names, so any engine can run it."""

    sql: str
    columns: tuple[str, ...]


Row = Sequence[Any]

_MASTER = SnapshotQuery(
    f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE {_USER} ORDER BY type, name",
    ("type", "name", "tbl_name", "sql"),
)
# FTS5 and friends keep their data in shadow tables that are not the user's.
_SHADOW = SnapshotQuery("SELECT name FROM pragma_table_list WHERE type = 'shadow'", ("name",))
_COLUMNS = SnapshotQuery(
    'SELECT m.name AS tbl, c.name AS col, c.type AS type, c."notnull" AS not_null, '
    "c.dflt_value AS dflt, c.pk AS pk, c.hidden AS hidden "
    f"FROM sqlite_master m JOIN pragma_table_xinfo(m.name) c WHERE m.type = 'table' AND {_USER_M} "
    "ORDER BY m.name, c.cid",
    ("tbl", "col", "type", "not_null", "dflt", "pk", "hidden"),
)
_FOREIGN_KEYS = SnapshotQuery(
    'SELECT m.name AS tbl, f.id AS fk, f."table" AS parent, f."from" AS child, f."to" AS target, '
    "f.on_delete AS on_delete, f.on_update AS on_update "
    f"FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND {_USER_M} "
    "ORDER BY m.name, f.id, f.seq",
    ("tbl", "fk", "parent", "child", "target", "on_delete", "on_update"),
)
_INDEX_COLUMNS = SnapshotQuery(
    "SELECT il.name AS idx, ix.name AS col FROM sqlite_master m JOIN pragma_index_list(m.name) il "
    "JOIN pragma_index_xinfo(il.name) ix "
    f"WHERE m.type = 'table' AND {_USER_M} AND ix.key = 1 ORDER BY il.name, ix.seqno",
    ("idx", "col"),
)
_INDEXES = SnapshotQuery(
    'SELECT m.name AS tbl, il.name AS idx, il."unique" AS uniq, il.origin AS origin, '
    "il.partial AS partial FROM sqlite_master m "
    f"JOIN pragma_index_list(m.name) il WHERE m.type = 'table' AND {_USER_M} ORDER BY m.name, il.name",
    ("tbl", "idx", "uniq", "origin", "partial"),
)
SNAPSHOT_QUERIES: tuple[SnapshotQuery, ...] = (
    _MASTER,
    _SHADOW,
    _COLUMNS,
    _FOREIGN_KEYS,
    _INDEX_COLUMNS,
    _INDEXES,
)


def snapshot_schema(conn: sqlite3.Connection) -> SchemaSnapshot:
    """Read the whole user schema of ``conn`` (main database) in a few queries."""
    return snapshot_from_rows([_fetch(conn, query) for query in SNAPSHOT_QUERIES])


def _fetch(conn: sqlite3.Connection, query: SnapshotQuery) -> list[Row]:
    try:
        return conn.execute(query.sql).fetchall()
    except sqlite3.OperationalError:
        if query is not _SHADOW:  # SQLite before 3.37 has no table_list
            raise
        return []


def rows_in_order(query: SnapshotQuery, rows: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Rows an engine returned as mappings, as tuples in ``query.columns`` order."""
    return [tuple(row.get(column) for column in query.columns) for row in rows]


def snapshot_from_rows(results: Sequence[Sequence[Row]]) -> SchemaSnapshot:
    """Build a snapshot from the rows of ``SNAPSHOT_QUERIES``, in that order."""
    master, shadow_rows, column_rows, key_rows, index_column_rows, index_rows = results
    shadow = {str(name) for (name,) in shadow_rows}
    names = [name for kind, name, _, _ in master if kind == "table" and name not in shadow]
    columns = _columns(column_rows)
    keys = _foreign_keys(key_rows)
    sql_by_name = {name: sql for kind, name, _, sql in master if kind == "index"}
    indexes = _indexes(index_column_rows, index_rows, sql_by_name)
    tables = tuple(
        Table(
            name=name,
            sql=sql or "",
            columns=tuple(columns.get(name, ())),
            foreign_keys=tuple(keys.get(name, ())),
            indexes=tuple(indexes.get(name, ())),
            virtual=(sql or "").upper().startswith("CREATE VIRTUAL"),
        )
        for kind, name, _, sql in master
        if kind == "table" and name in names
    )
    others = tuple(
        Other(kind, name, table, sql or "")
        for kind, name, table, sql in master
        if kind in ("view", "trigger")
    )
    return SchemaSnapshot(tables, others)


def _columns(rows: Iterable[Row]) -> dict[str, list[Column]]:
    result: dict[str, list[Column]] = defaultdict(list)
    for table, name, kind, not_null, default, pk, hidden in rows:
        result[table].append(Column(name, kind, bool(not_null), default, pk, hidden))
    return result


def _foreign_keys(rows: Iterable[Row]) -> dict[str, list[ForeignKey]]:
    grouped: dict[tuple[str, int], list[tuple[str, str, str | None, str, str]]] = defaultdict(list)
    for table, key_id, parent, child, to, on_delete, on_update in rows:
        grouped[(table, key_id)].append((parent, child, to, on_delete, on_update))
    result: dict[str, list[ForeignKey]] = defaultdict(list)
    for (table, _), parts in grouped.items():
        parent, _, _, on_delete, on_update = parts[0]
        columns = tuple(p[1] for p in parts)
        result[table].append(
            ForeignKey(parent, columns, tuple(p[2] for p in parts), on_delete, on_update)
        )
    return result


def _indexes(
    column_rows: Iterable[Row], index_rows: Iterable[Row], sql_by_name: dict[str, str | None]
) -> dict[str, list[Index]]:
    columns: dict[str, list[str | None]] = defaultdict(list)
    for index, column in column_rows:
        columns[index].append(column)
    result: dict[str, list[Index]] = defaultdict(list)
    for table, name, unique, origin, partial in index_rows:
        index = Index(
            name,
            table,
            tuple(columns[name]),
            bool(unique),
            origin,
            bool(partial),
            sql_by_name.get(name),
        )
        result[table].append(index)
    return result


def _where(sql: str | None) -> str | None:
    if not sql:
        return None
    upper = sql.upper()
    position = upper.rfind(" WHERE ")
    return " ".join(sql[position + 7 :].split()).lower() if position >= 0 else None


def schema_text(conn: sqlite3.Connection) -> tuple[tuple[str, str, str], ...]:
    """``(type, name, sql)`` of every user object: equal texts mean equal schemas."""
    rows = conn.execute(
        f"SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE {_USER} ORDER BY type, name"
    ).fetchall()
    return tuple((kind, name, sql) for kind, name, sql in rows)


def schema_version(conn: sqlite3.Connection) -> int:
    """SQLite's schema cookie: it changes whenever the schema does."""
    row = conn.execute("PRAGMA schema_version").fetchone()
    return int(row[0])
