"""The write guard shared by ``apply --remote`` and fleets (``engines/guard.py``), on a real
SQLite file: the fingerprint computed in SQL equals the one computed from the rows read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.commandline import restore_flag
from orchestrator.engines.guard import (
    CAS_CONSTRAINT,
    Settled,
    advance,
    fingerprint,
    guard_statements,
    settle_write,
)
from orchestrator.engines.ledger import LedgerNames, create_statements

NAMES = LedgerNames("_migrations", ("d1_migrations",))


def run(connection: sqlite3.Connection, expected: str) -> None:
    statements = create_statements(NAMES) + guard_statements(NAMES, expected, NAMES.wrangler_tables)
    with connection:
        for s in statements:
            connection.execute(s.text, s.params)


def test_the_guard_passes_on_the_fingerprint_read_and_fails_once_the_ledger_moved(
    tmp_path: Path,
) -> None:
    connection = sqlite3.connect(tmp_path / "db.sqlite")
    empty = fingerprint([], [0])
    run(connection, empty)  # nothing changed since the read: passes, leaves no row
    with connection:
        connection.execute("INSERT INTO d1_migrations (name) VALUES ('0001_a.sql')")
    with pytest.raises(sqlite3.IntegrityError, match=CAS_CONSTRAINT):
        run(connection, empty)
    run(connection, fingerprint([], [1]))
    with connection:
        connection.execute("INSERT INTO _migrations (filename) VALUES ('0001_a.sql')")
    run(connection, advance(fingerprint([], [0]), ["0001_a.sql"]))


@pytest.mark.parametrize(
    ("now", "own", "verdict"),
    [
        ("0:|0", [], Settled.UNCHANGED),
        ("0:|1", [], Settled.CHANGED),
        ("2:0002_b.sql|2", ["0001_a.sql", "0002_b.sql"], Settled.COMMITTED),
        ("1:0001_a.sql|1", ["0001_a.sql"], Settled.CHANGED),
    ],
)
def test_settle_write_by_the_fresh_read(now: str, own: list[str], verdict: Settled) -> None:
    assert settle_write("0:|0", now, ["0001_a.sql", "0002_b.sql"], own) is verdict


def test_restore_takes_a_timestamp_or_a_bookmark() -> None:
    assert restore_flag("2026-12-02T17:59:21Z") == "--timestamp=2026-12-02T17:59:21Z"
    assert (
        restore_flag("00000085-0000024c-00004c6d-8e61")
        == "--bookmark=00000085-0000024c-00004c6d-8e61"
    )
