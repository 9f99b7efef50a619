"""Corrupt ledger and lock rows (issue 14): a value of the wrong type, written by hand or
by another tool, is one clear line naming the table, the row and the column, exit 1, never
an internal error (exit 70) and never a silent guess (a NULL name read as "None")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.apply.helpers import cli, query, state_path
from tests.conftest import TreeWriter, toml_binding

LOOSE_LEDGER = (
    "DROP TABLE _migrations; CREATE TABLE _migrations (id, filename, applied_at, checksum, "
    "execution_time_ms, source, applied_by, bookmark);"
)
LOOSE_LOCK = (
    "DROP TABLE _migrations_lock; CREATE TABLE _migrations_lock "
    "(id, owner, host, pid, acquired_at, expires_at);"
)
LOOSE_WRANGLER = "DROP TABLE d1_migrations; CREATE TABLE d1_migrations (id, name, applied_at);"
ROW = "INSERT INTO _migrations VALUES ({id}, {name}, {at}, 'sha256:x', {ms}, NULL, NULL, NULL);"

CORRUPT = {
    "ms-as-text": (
        LOOSE_LEDGER + ROW.format(id="'one'", name="'0001_a.sql'", at="NULL", ms="'fast'"),
        "ledger table '_migrations' has a corrupt row (id 'one'): "
        "execution_time_ms is 'fast', not an integer",
    ),
    "name-null": (
        LOOSE_LEDGER + ROW.format(id="1", name="NULL", at="NULL", ms="NULL"),
        "ledger table '_migrations' has a corrupt row (id 1): filename is NULL, not text",
    ),
    "name-blob": (
        LOOSE_LEDGER + ROW.format(id="1", name="x'00ff'", at="NULL", ms="NULL"),
        "ledger table '_migrations' has a corrupt row (id 1): "
        "filename is a blob of 2 bytes, not text",
    ),
    "wrangler-name-blob": (
        LOOSE_WRANGLER + "INSERT INTO d1_migrations VALUES ('a', x'ff00', NULL);",
        "ledger table 'd1_migrations' has a corrupt row (id 'a'): "
        "name is a blob of 2 bytes, not text",
    ),
    "lock-pid-text": (
        LOOSE_LOCK + "INSERT INTO _migrations_lock VALUES (1, 'me', 'h', 'pid', 'now', 9e99);",
        "ledger table '_migrations_lock' has a corrupt row (id 1): pid is 'pid', not an integer",
    ),
    "lock-expiry-null": (
        LOOSE_LOCK + "INSERT INTO _migrations_lock VALUES (1, 'me', 'h', 1, 'now', NULL);",
        "ledger table '_migrations_lock' has a corrupt row (id 1): expires_at is NULL, not a number",
    ),
}


@pytest.fixture
def applied(tree: TreeWriter) -> tuple[Path, Path]:
    """A workspace whose two migrations are applied locally; its root and state file."""
    root = tree({
        "p/wrangler.toml": toml_binding("p-db", "11111111-1111-1111-1111-111111111111"),
        "p/migrations/0001_a.sql": "CREATE TABLE a (id INTEGER);\n",
        "p/migrations/0002_b.sql": "CREATE TABLE b (id INTEGER);\n",
    })  # fmt: skip
    code, out, err = cli("apply", "--all", "--root", str(root))
    assert code == 0, out + err
    return root, state_path(root, "p-db")


def corrupt(path: Path, script: str) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.executescript(script)
    finally:
        connection.close()


@pytest.mark.parametrize("case", sorted(CORRUPT))
@pytest.mark.parametrize("command", ["plan", "status", "apply"])
def test_a_corrupt_row_is_one_line_not_an_internal_error(
    applied: tuple[Path, Path], case: str, command: str
) -> None:
    """Before: exit 70 ("internal error: ValueError ..."), or a NULL filename read as a
    migration named "None" and the rest run again."""
    root, path = applied
    script, words = CORRUPT[case]
    corrupt(path, script)
    args = [command, "--root", str(root)] + (["--all"] if command == "apply" else [])
    code, out, err = cli(*args)
    assert code == (0 if command == "status" else 1), out + err  # status: --exit-code decides
    assert "internal error" not in out + err and "Traceback" not in out + err
    assert words in " ".join((out + err).split())
    assert query(path, "SELECT name FROM sqlite_master WHERE name IN ('a', 'b') ORDER BY name") == [
        ("a",),
        ("b",),
    ]


def test_a_corrupt_ledger_row_in_history_is_one_line(applied: tuple[Path, Path]) -> None:
    root, path = applied
    corrupt(path, CORRUPT["ms-as-text"][0])
    code, out, err = cli("history", "--db", "p-db", "--root", str(root))
    assert code == 1, out + err
    assert "has a corrupt row: execution_time_ms is 'fast', not an integer" in out + err
    assert "internal error" not in out + err


def test_a_null_applied_at_and_a_text_id_are_read(applied: tuple[Path, Path]) -> None:
    """Nothing needs those two values: such rows are read as they are."""
    root, path = applied
    copy = (
        "INSERT INTO _migrations SELECT 'r' || id, filename, NULL, checksum, execution_time_ms,"
        " source, applied_by, bookmark FROM old; DROP TABLE old;"
    )
    corrupt(path, "CREATE TABLE old AS SELECT * FROM _migrations;" + LOOSE_LEDGER + copy)
    code, out, err = cli("apply", "--all", "--root", str(root))
    assert code == 0, out + err
    assert "nothing to apply" in (out + err).lower() or "0 applied" in out + err
