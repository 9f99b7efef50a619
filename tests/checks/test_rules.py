"""Every rule, with a migration list that triggers it and one that does not.

The last migration of each list is the one under test; earlier ones set the schema up.
Everything runs for real: the shadow replay uses sqlite3 in memory.
"""

from __future__ import annotations

import pytest

from orchestrator.checks.catalog import RULES
from tests.checks.helpers import M, Spec, codes, header_lines, lines, run_rules

T = (
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', "
    "created_at TEXT DEFAULT (datetime('now')), updated_at TEXT DEFAULT (datetime('now')));"
)
PARENT = """
    CREATE TABLE IF NOT EXISTS parent (id TEXT PRIMARY KEY, tier TEXT NOT NULL CHECK (tier IN ('a', 'b')));
    CREATE INDEX IF NOT EXISTS idx_parent_tier ON parent(tier);
"""
CHILD = """
    CREATE TABLE IF NOT EXISTS child (
      id INTEGER PRIMARY KEY,
      parent_id TEXT NOT NULL REFERENCES parent(id) ON DELETE CASCADE
    );
    CREATE INDEX IF NOT EXISTS idx_child_parent_id ON child(parent_id);
"""
NEW_PARENT = "CREATE TABLE parent_new (id TEXT PRIMARY KEY, tier TEXT NOT NULL CHECK (tier IN ('a', 'b', 'c')));"
# The strategy document's Pattern 2, as written there.
PATTERN_2 = f"""
    PRAGMA foreign_keys=OFF;
    {NEW_PARENT}
    INSERT INTO parent_new SELECT * FROM parent;
    DROP TABLE parent;
    ALTER TABLE parent_new RENAME TO parent;
    CREATE INDEX IF NOT EXISTS idx_parent_tier ON parent(tier);
    PRAGMA foreign_keys=ON;
"""
ACCOUNTS = """
    CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'Active');
    CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id));
    CREATE INDEX IF NOT EXISTS idx_sessions_account ON sessions(account_id);
"""
# Any status change logs the account out: a backfill of status empties sessions.
LOGOUT_TRIGGER = """
    CREATE TRIGGER IF NOT EXISTS trg_logout AFTER UPDATE OF status ON accounts
    BEGIN DELETE FROM sessions WHERE account_id = NEW.id; END;
"""
# The safe version D002 recommends: back up the children, recreate, re-insert.
SAFE_RECREATION = f"""
    PRAGMA defer_foreign_keys = on;
    CREATE TABLE child_backup AS SELECT * FROM child;
    {NEW_PARENT}
    INSERT INTO parent_new SELECT * FROM parent;
    DROP TABLE parent;
    ALTER TABLE parent_new RENAME TO parent;
    CREATE INDEX IF NOT EXISTS idx_parent_tier ON parent(tier);
    INSERT OR IGNORE INTO child SELECT * FROM child_backup;
    DROP TABLE child_backup;
"""
SEED = "INSERT OR IGNORE INTO parent (id, tier) VALUES ('p1', 'a');\nINSERT OR IGNORE INTO child (id, parent_id) VALUES (1, 'p1');"
PAIR = "CREATE TABLE IF NOT EXISTS pair (a TEXT, b TEXT);"
USERS = "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, display_name TEXT);"

CASES: list[tuple[str, list[Spec], list[Spec]]] = [
    ("N001", [M(T, "001_t.sql")], [M(T, "0001_t.sql")]),
    ("N002", [M(T, "create_t.sql")], [M(T, "0001_create_t.sql")]),
    ("N003", [M(T, "0001_a.sql"), M("SELECT 1;", "0001_b.sql")], [M(T, "0001_a.sql"), M("SELECT 1;", "0002_b.sql")]),
    ("N004", [M(T, "0001_AddUsers.sql")], [M(T, "0001_add_users.sql")]),
    ("I001", ["CREATE TABLE t (id INTEGER PRIMARY KEY);"], [T]),
    ("I001", [T, "CREATE INDEX idx_t_name ON t(name);"], [T, "CREATE INDEX IF NOT EXISTS idx_t_name ON t(name);"]),
    ("I001", [T, "CREATE VIEW v AS SELECT id FROM t;"], [T, "CREATE VIEW IF NOT EXISTS v AS SELECT id FROM t;"]),
    (
        "I001",
        [T, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;"],
        [T, "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END;"],
    ),
    (
        "I002",
        [T + "\nCREATE INDEX IF NOT EXISTS idx_t_name ON t(name);", "DROP INDEX idx_t_name;"],
        [T + "\nCREATE INDEX IF NOT EXISTS idx_t_name ON t(name);", "DROP INDEX IF EXISTS idx_t_name;"],
    ),
    ("I003", [T, "INSERT INTO t (id, name) VALUES (1, 'a');"], [T, "INSERT OR IGNORE INTO t (id, name) VALUES (1, 'a');"]),
    ("I003", [T, "INSERT INTO t (id, name) VALUES (1, 'a');"], [T, "INSERT INTO t (id, name) VALUES (1, 'a') ON CONFLICT DO NOTHING;"]),
    ("I004", [T, "ALTER TABLE t ADD COLUMN nickname TEXT;"], [T, "CREATE INDEX IF NOT EXISTS idx_t_name ON t(name);"]),
    ("I004", [T, "ALTER TABLE t RENAME COLUMN name TO title;"], [T]),
    # An INSERT's measured second run is reported under I003, so its suppression covers it.
    ("I003", [T, "INSERT INTO t (id, name) SELECT 1, 'a';"], [T, "INSERT OR IGNORE INTO t (id, name) SELECT 1, 'a';"]),
    ("I003", ["CREATE TABLE IF NOT EXISTS log (msg TEXT);\nINSERT INTO log (msg) SELECT 'hello';"], ["CREATE TABLE IF NOT EXISTS log (msg TEXT UNIQUE);\nINSERT OR IGNORE INTO log (msg) SELECT 'hello';"]),
    ("I005", [T, "DROP TABLE IF EXISTS c;\nCREATE TABLE IF NOT EXISTS c AS SELECT * FROM t;\nDROP TABLE IF EXISTS t;\nCREATE TABLE IF NOT EXISTS t AS SELECT *, 1 AS extra FROM c;"], [T, "CREATE TABLE IF NOT EXISTS copy AS SELECT * FROM t;"]),
    ("H001", [M("-- adds t\n" + T, header=False)], [T]),
    ("H002", [M("-- Migration: 0001 - t\n-- Created: 2025-01-01\n-- Purpose: p\n-- Changes: t\n-- Verification:\n-- look at it\n" + T, header=False)], [T]),
    (
        "S001",
        [T + "\nCREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY);"],
        [T + "\nCREATE INDEX IF NOT EXISTS idx_t_name ON t(name);"],
    ),
    ("S002", [PARENT, CHILD.split("CREATE INDEX")[0]], [PARENT, CHILD]),
    ("S002", [PARENT, CHILD.split("CREATE INDEX")[0]], [PARENT, CHILD.split("CREATE INDEX")[0], "CREATE INDEX IF NOT EXISTS idx_c ON child(parent_id);"]),
    ("S003", ["CREATE TABLE IF NOT EXISTS e (id INTEGER PRIMARY KEY, created_at INTEGER);"], [T]),
    ("S003", ["CREATE TABLE IF NOT EXISTS e (id INTEGER PRIMARY KEY, created_at TEXT DEFAULT CURRENT_TIMESTAMP);"], [T]),
    ("R001", [PARENT, PATTERN_2.replace("CREATE INDEX IF NOT EXISTS idx_parent_tier ON parent(tier);", "")], [PARENT, PATTERN_2]),
    (
        "R002",
        [PAIR, "CREATE TABLE pair_new (b TEXT, a TEXT);\nINSERT INTO pair_new SELECT * FROM pair;\nDROP TABLE pair;\nALTER TABLE pair_new RENAME TO pair;"],
        [PAIR, "CREATE TABLE pair_new (a TEXT, b TEXT);\nINSERT INTO pair_new SELECT * FROM pair;\nDROP TABLE pair;\nALTER TABLE pair_new RENAME TO pair;"],
    ),
    (
        "R002",
        [PAIR, "CREATE TABLE pair_new (a TEXT, b TEXT, c TEXT);\nINSERT INTO pair_new SELECT * FROM pair;\nDROP TABLE pair;\nALTER TABLE pair_new RENAME TO pair;"],
        [PAIR, "CREATE TABLE pair_new (a TEXT, b TEXT, c TEXT);\nINSERT INTO pair_new (a, b) SELECT * FROM pair;\nDROP TABLE pair;\nALTER TABLE pair_new RENAME TO pair;"],
    ),
    ("D001", [T, "PRAGMA foreign_keys=OFF;"], [T, "PRAGMA defer_foreign_keys = on;"]),
    ("D002", [PARENT, CHILD, SEED, PATTERN_2], [PARENT, CHILD, SEED, SAFE_RECREATION]),
    ("D003", ["BEGIN TRANSACTION;\n" + T + "\nCOMMIT;"], [T + "\nCREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END;"]),
    ("D003", [T, "SAVEPOINT s;\nRELEASE s;"], [T]),
    ("D004", [T, "VACUUM;"], [T, "SELECT 1;"]),
    ("D004", [T, "ATTACH DATABASE 'other.db' AS other;"], [T]),
    ("D005", ["CREATE TABLE IF NOT EXISTS _cf_meta (k TEXT);"], ["CREATE TABLE IF NOT EXISTS cf_meta (k TEXT);"]),
    ("D005", ["CREATE TABLE IF NOT EXISTS sqlite_meta (k TEXT);"], ["CREATE TABLE IF NOT EXISTS meta (k TEXT);"]),
    ("D006", [T, "INSERT OR IGNORE INTO t (name) VALUES ('" + "x" * 100_001 + "');"], [T, "INSERT OR IGNORE INTO t (name) VALUES ('x');"]),
    ("D007", ["CREATE TEMP TABLE IF NOT EXISTS scratch (a TEXT);"], ["CREATE TABLE IF NOT EXISTS scratch (a TEXT);"]),
    ("D008", ["CREATE TABLE IF NOT EXISTS g (a INTEGER/*c*/NOT NULL);"], ["CREATE TABLE IF NOT EXISTS g (a INTEGER /*c*/NOT NULL, b TEXT/*c*/);"]),
    ("X001", [T, "DROP TABLE IF EXISTS t;"], [T, "CREATE TABLE IF NOT EXISTS t_copy AS SELECT * FROM t;\nDROP TABLE IF EXISTS t_copy;"]),
    ("X001", [USERS, "ALTER TABLE users DROP COLUMN name;"], [USERS]),
    (
        "X002",
        [USERS, "UPDATE users SET display_name = name;\nALTER TABLE users DROP COLUMN name;"],
        [USERS, "UPDATE users SET display_name = name;", "ALTER TABLE users DROP COLUMN name;"],
    ),
    ("L001", [T, "ALTER TABLE t ADD COLUMN c TEXT NOT NULL;"], [T, "ALTER TABLE t ADD COLUMN c TEXT NOT NULL DEFAULT '';"]),
    ("L002", [T, "ALTER TABLE t ADD COLUMN c TEXT UNIQUE;"], [T, "ALTER TABLE t ADD COLUMN c TEXT;\nCREATE UNIQUE INDEX IF NOT EXISTS idx_t_c ON t(c);"]),
    ("L003", [T, "ALTER TABLE t ADD COLUMN seen_at TEXT DEFAULT (datetime('now'));"], [T, "ALTER TABLE t ADD COLUMN seen_at TEXT DEFAULT '1970-01-01';"]),
    ("L003", [T, "ALTER TABLE t ALTER COLUMN name TYPE TEXT;"], [T]),
    ("L003", [T, "ALTER TABLE t ADD CONSTRAINT name_unique UNIQUE (name);"], [T]),
    ("L003", [T, "ALTER TABLE t ADD COLUMN n INTEGER GENERATED ALWAYS AS (id * 2) STORED;"], [T, "ALTER TABLE t ADD COLUMN n INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL;"]),
    ("L003", [PARENT, T, "ALTER TABLE t ADD COLUMN p TEXT DEFAULT 'p1' REFERENCES parent(id);"], [PARENT, T, "ALTER TABLE t ADD COLUMN p TEXT REFERENCES parent(id);"]),
    ("L004", [T, "INSERT OR IGNORE INTO nowhere (id) VALUES (1);"], [T, "INSERT OR IGNORE INTO t (id) VALUES (1);"]),
    # Where D002 sees the cascade too, P001's numbers join D002 (test_merge.py); here no DROP explains it.
    ("P001", [ACCOUNTS, LOGOUT_TRIGGER, "UPDATE accounts SET status = lower(status);"], [ACCOUNTS, LOGOUT_TRIGGER, "DELETE FROM sessions;\nUPDATE accounts SET status = lower(status);"]),
    ("Q001", [T, "-- orchestrate: ignore[I004]\nALTER TABLE t ADD COLUMN c TEXT;"], [T, "-- orchestrate: ignore[I004] ledger-guarded\nALTER TABLE t ADD COLUMN c TEXT;"]),
    ("Q002", [T, "-- orchestrate: ignore[Z999] because\nSELECT 1;"], [T, "-- orchestrate: ignore[I004] ledger-guarded\nALTER TABLE t ADD COLUMN c TEXT;"]),
    ("Q003", [T, "-- orchestrate: ignore[I001] not needed\nCREATE INDEX IF NOT EXISTS i ON t(name);"], [T, "-- orchestrate: ignore[I001] kept on purpose\nCREATE INDEX i ON t(name);"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "failing", "passing"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_fails_and_passes(code: str, failing: list[Spec], passing: list[Spec]) -> None:
    assert code in codes(run_rules(failing)), f"{code} missed"
    assert code not in codes(run_rules(passing)), f"{code} raised on the passing example"


def test_every_rule_has_a_case() -> None:
    assert {code for code, _, _ in CASES} == {rule.code for rule in RULES}


def test_the_safe_recreation_is_clean() -> None:
    assert codes(run_rules([PARENT, CHILD, SEED, SAFE_RECREATION])) == set()


def test_findings_point_at_the_statement_line() -> None:
    body = f"{T}\n\nCREATE INDEX idx_t_name ON t(name);"
    found = run_rules([body])
    assert lines(found, "I001") == [header_lines() + 3]


def test_cascade_finding_names_children_and_the_safe_way() -> None:
    found = run_rules([PARENT, CHILD, SEED, PATTERN_2])
    [cascade] = [f for f in found if f.rule == "D002"]
    assert cascade.line == header_lines() + 4  # DROP TABLE parent
    for words in (
        "child",
        "ON DELETE CASCADE",
        "defer_foreign_keys",
        "TEMP",
        "backup",
        "orchestrate recreate",
    ):
        assert words in cascade.message


def test_cascade_follows_grandchildren_and_set_null() -> None:
    grandchild = "CREATE TABLE IF NOT EXISTS grand (id INTEGER PRIMARY KEY, child_id INTEGER REFERENCES child(id) ON DELETE CASCADE);"
    nullable = "CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, parent_id TEXT REFERENCES parent(id) ON DELETE SET NULL);"
    found = run_rules([PARENT, CHILD, grandchild, nullable, PATTERN_2])
    [cascade] = [f for f in found if f.rule == "D002"]
    assert "grand (ON DELETE CASCADE via child)" in cascade.message
    assert "note (ON DELETE SET NULL)" in cascade.message


def test_pragma_finding_explains_what_defer_does_not_do() -> None:
    [finding] = [f for f in run_rules([T, "PRAGMA foreign_keys=OFF;"]) if f.rule == "D001"]
    assert "defer_foreign_keys" in finding.message and "does not stop cascades" in finding.message


def test_comments_and_strings_trigger_nothing() -> None:
    body = """
        -- DROP TABLE t; BEGIN; PRAGMA foreign_keys=OFF; VACUUM; CREATE TABLE x (a);
        /* ALTER TABLE t ADD COLUMN c TEXT NOT NULL; INSERT INTO t VALUES (1); */
        INSERT OR IGNORE INTO t (id, name) VALUES (7, 'BEGIN; DROP TABLE t; PRAGMA foreign_keys=OFF; -- orchestrate: ignore[X]');
    """
    assert codes(run_rules([T, body])) == set()


def test_recreation_steps_are_exempt_from_idempotency_rules() -> None:
    found = codes(
        run_rules(
            [
                PAIR,
                "CREATE TABLE pair_new (a TEXT, b TEXT);\nINSERT INTO pair_new SELECT * FROM pair;\nDROP TABLE pair;\nALTER TABLE pair_new RENAME TO pair;",
            ]
        )
    )
    assert not found & {"I001", "I002", "I004", "I005", "X001", "S001"}


def test_fts_commands_are_not_seed_rows() -> None:
    fts = "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(body);\nINSERT INTO docs (docs) VALUES ('rebuild');"
    assert "I003" not in codes(run_rules([fts]))


def test_lint_mode_does_not_measure() -> None:
    found = codes(run_rules([PARENT, CHILD, PATTERN_2], measure=False))
    assert "D002" in found and "P001" not in found and "I005" not in found


def test_alter_column_is_flagged_without_measuring() -> None:
    found = run_rules([T, "ALTER TABLE t ADD COLUMN nickname TEXT;"], measure=False)
    assert lines(found, "I004") == [header_lines() + 1]
