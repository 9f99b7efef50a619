"""False errors found on real repositories (each rebuilt here as a minimal case of our own),
and the data-loss probe on generated schemas: findings or none, never a traceback."""

from __future__ import annotations

import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.checks.findings import Finding
from tests.checks.helpers import codes, run_rules

PARENT = "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY, name TEXT);"
CHILD = (
    "CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY, "
    "parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);\n"
    "CREATE INDEX IF NOT EXISTS idx_child_parent ON child(parent_id);"
)


def errors(found: list[Finding]) -> set[str]:
    return {f.rule for f in found if f.is_error}


def test_no_d002_when_the_child_is_dropped_before_the_parent() -> None:
    found = run_rules([PARENT, CHILD, "DROP TABLE child;\nDROP TABLE parent;"])
    assert "D002" not in codes(found) and "P001" not in errors(found)


def test_no_d002_when_the_child_is_dropped_after_the_parent() -> None:
    found = run_rules([PARENT, CHILD, "DROP TABLE parent;\nDROP TABLE child;"])
    assert "D002" not in codes(found) and "P001" not in errors(found)


def test_d002_when_the_child_is_still_copied_after_the_parent_drop() -> None:
    rebuild_child_late = """
        DROP TABLE parent;
        CREATE TABLE child_new (id INTEGER PRIMARY KEY, parent_id INTEGER);
        INSERT INTO child_new (id, parent_id) SELECT id, parent_id FROM child;
        DROP TABLE child;
        ALTER TABLE child_new RENAME TO child;
    """
    assert "D002" in errors(run_rules([PARENT, CHILD, rebuild_child_late]))


def test_no_r001_for_an_index_on_a_column_the_recreation_removed() -> None:
    table = (
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT, legacy TEXT);\n"
        "CREATE INDEX IF NOT EXISTS idx_notes_legacy ON notes(legacy);"
    )
    rebuild = """
        CREATE TABLE notes_new (id INTEGER PRIMARY KEY, body TEXT);
        INSERT INTO notes_new (id, body) SELECT id, body FROM notes;
        DROP TABLE notes;
        ALTER TABLE notes_new RENAME TO notes;
    """
    assert "R001" not in codes(run_rules([table, rebuild]))


def test_r001_still_reports_an_index_on_a_kept_column() -> None:
    table = (
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT, legacy TEXT);\n"
        "CREATE INDEX IF NOT EXISTS idx_notes_body ON notes(body);"
    )
    rebuild = """
        CREATE TABLE notes_new (id INTEGER PRIMARY KEY, body TEXT);
        INSERT INTO notes_new (id, body) SELECT id, body FROM notes;
        DROP TABLE notes;
        ALTER TABLE notes_new RENAME TO notes;
    """
    assert "R001" in errors(run_rules([table, rebuild]))


def test_no_i003_on_moving_a_column_into_a_new_table() -> None:
    users = "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, bio TEXT);\nINSERT OR IGNORE INTO users (id, bio) VALUES (1, 'x');"
    move = """
        CREATE TABLE IF NOT EXISTS profiles (user_id INTEGER PRIMARY KEY REFERENCES users(id), bio TEXT);
        INSERT INTO profiles (user_id, bio) SELECT id, bio FROM users;
        ALTER TABLE users DROP COLUMN bio;
    """
    found = run_rules([users, move])
    assert "I003" not in codes(found) and not errors(found)


def test_probe_survives_a_not_null_key_whose_parent_cannot_be_filled() -> None:
    # The parent refuses every synthetic row (CHECK nothing satisfies), so the child's
    # NOT NULL key has no value to take: the probe must give up on it, not divide by zero.
    parent = "CREATE TABLE IF NOT EXISTS p (id INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (v = 'never' AND v <> 'never'));"
    child = "CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, p_id INTEGER NOT NULL REFERENCES p(id));"
    run_rules([parent, child, "DROP TABLE IF EXISTS c;"])


_TYPES = st.sampled_from(["INTEGER", "TEXT", "REAL", "BLOB", "", "NUMERIC", "VARCHAR(10)"])
_ACTIONS = st.sampled_from(["", " ON DELETE CASCADE", " ON DELETE SET NULL", " ON DELETE RESTRICT"])


@st.composite
def schemas(draw: st.DrawFn) -> list[str]:
    """A few tables with random types, NOT NULL, UNIQUE, CHECK and foreign keys to earlier ones."""
    statements: list[str] = []
    for number in range(draw(st.integers(1, 4))):
        columns = ["id INTEGER PRIMARY KEY"]
        for c in range(draw(st.integers(0, 3))):
            column = f"c{c} {draw(_TYPES)}"
            if draw(st.booleans()):
                column += " NOT NULL"
            if draw(st.integers(0, 4)) == 0:
                column += " UNIQUE"
            if draw(st.integers(0, 4)) == 0:
                column += f" CHECK (c{c} {draw(st.sampled_from(['> 5', 'IN (1, 2)', '= 0 AND c' + str(c) + ' = 1']))})"
            if number and draw(st.booleans()):
                column += f" REFERENCES t{draw(st.integers(0, number - 1))}(id){draw(_ACTIONS)}"
            columns.append(column)
        statements.append(f"CREATE TABLE IF NOT EXISTS t{number} ({', '.join(columns)});")
    return statements


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemas(), st.booleans())
def test_probe_never_crashes_on_generated_schemas(tables: list[str], recreate: bool) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript("\n".join(tables))
    except sqlite3.Error:
        return  # only schemas SQLite accepts
    finally:
        conn.close()
    change = (
        "CREATE TABLE t0_new (id INTEGER PRIMARY KEY);\nINSERT INTO t0_new (id) SELECT id FROM t0;\n"
        "DROP TABLE t0;\nALTER TABLE t0_new RENAME TO t0;"
        if recreate
        else "DROP TABLE IF EXISTS t0;"
    )
    found = run_rules(["\n".join(tables), change])
    assert all(isinstance(f, Finding) for f in found)
