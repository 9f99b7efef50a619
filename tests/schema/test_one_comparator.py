"""verify's differences and adopt's facts are one comparator: two schemas are equal as facts
exactly when ``compare_schemas`` finds no difference, on what each used to get wrong."""

from __future__ import annotations

import sqlite3

import pytest

from orchestrator.checks.schema import SchemaSnapshot, snapshot_schema
from orchestrator.schema.compare import compare_facts, compare_schemas, schema_facts


def snapshot(*sql: str) -> SchemaSnapshot:
    conn = sqlite3.connect(":memory:")
    try:
        for statement in sql:
            conn.execute(statement)
        return snapshot_schema(conn)
    finally:
        conn.close()


PARENT = "CREATE TABLE parents (id INTEGER PRIMARY KEY)"
PAIRS = {
    # adopt's old comparator (checks/compare.py) got this one and "view body" wrong.
    "implicit parent key": (
        (PARENT, "CREATE TABLE kids (id INTEGER, p INTEGER REFERENCES parents(id))"),
        (PARENT, "CREATE TABLE kids (id INTEGER, p INTEGER REFERENCES parents)"),
        True,
    ),
    "default spelling": (
        ("CREATE TABLE t (a TEXT DEFAULT 'x')",),
        ("CREATE TABLE t (a TEXT DEFAULT ('x'))",),
        True,
    ),
    "index predicate": (
        ("CREATE TABLE t (a INTEGER)", "CREATE INDEX i ON t(a) WHERE a > 0"),
        ("CREATE TABLE t (a INTEGER)", "CREATE INDEX i ON t(a) WHERE a > 1"),
        False,
    ),
    "WITHOUT ROWID": (
        ("CREATE TABLE t (a TEXT PRIMARY KEY)",),
        ("CREATE TABLE t (a TEXT PRIMARY KEY) WITHOUT ROWID",),
        False,
    ),
    "view body": (
        ("CREATE TABLE t (a INTEGER)", "CREATE VIEW v AS SELECT a FROM t"),
        ("CREATE TABLE t (a INTEGER)", "CREATE VIEW v AS SELECT a + 1 AS a FROM t"),
        False,
    ),
    "view spacing and quoting": (
        ("CREATE TABLE t (a INTEGER)", "CREATE VIEW v AS SELECT a FROM t"),
        ("CREATE TABLE t (a INTEGER)", 'CREATE VIEW "v" AS   SELECT a   FROM t'),
        True,
    ),
    "column check": (
        ("CREATE TABLE t (a TEXT CHECK (a IN ('x: y')))",),
        ("CREATE TABLE t (a TEXT CHECK (a IN ('x')))",),
        False,
    ),
    # PRAGMA table_xinfo does not report a column's COLLATE: it is read from the CREATE text.
    "column collation": (
        ("CREATE TABLE t (email TEXT NOT NULL COLLATE NOCASE UNIQUE)",),
        ("CREATE TABLE t (email TEXT NOT NULL UNIQUE)",),
        False,
    ),
    "collation spelling": (
        ("CREATE TABLE t (email TEXT COLLATE nocase, b TEXT COLLATE BINARY)",),
        ('CREATE TABLE t (email TEXT COLLATE "NOCASE", b TEXT)',),
        True,
    ),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_facts_agree_with_differences(name: str) -> None:
    left_sql, right_sql, equal = PAIRS[name]
    left, right = snapshot(*left_sql), snapshot(*right_sql)
    differences = compare_schemas(left, right)
    diff = compare_facts(schema_facts(left), schema_facts(right))
    assert (not differences) is equal, differences
    assert diff.equal is equal, (diff.missing, diff.extra)


def test_a_column_check_reads_as_its_clause_and_column() -> None:
    facts = schema_facts(snapshot("CREATE TABLE t (a TEXT CHECK (a IN ('x: y')))"))
    [check] = [f.text for f in facts if f.kind == "check"]
    assert check.startswith("check on t: CHECK (") and check.endswith("(column a)")
