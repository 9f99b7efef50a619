"""The write's compare-and-swap and the final schema read, on real SQLite files
(the local engine runs a batch as one transaction, as D1 does)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.engines import Target
from orchestrator.engines.ledger import LedgerNames
from orchestrator.engines.local import LocalEngine
from orchestrator.errors import BatchError
from orchestrator.fleets.model import Member
from orchestrator.fleets.sql import (
    CAS_CONSTRAINT,
    parse_read,
    parse_schema,
    plan_writes,
    read_batch,
    setup_count,
)
from orchestrator.model import Migration

NAMES = LedgerNames("_migrations", ("d1_migrations",))
MEMBER = Member("m", "m")


def migration(number: int, sql: str) -> Migration:
    name = f"{number:04d}_m{number}"
    return Migration(number, f"m{number}", f"mig/{name}.sql", "mig", ".", f"sha256:{number}", sql)


MIGRATIONS = (
    migration(1, "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
    migration(2, "CREATE TABLE b (id INTEGER PRIMARY KEY);"),
)


def session(tmp_path: Path):  # type: ignore[no-untyped-def]
    return LocalEngine(tmp_path).open(Target("m", "local", str(tmp_path / "m.sqlite")))


def read(s):  # type: ignore[no-untyped-def]
    return parse_read(MEMBER, NAMES, s.run(read_batch(NAMES)), setup_count(NAMES))


def test_one_write_applies_everything_and_returns_the_schema(tmp_path: Path) -> None:
    s = session(tmp_path)
    state = read(s)
    (write,) = plan_writes(
        NAMES, state, MIGRATIONS, "2026-01-01T00:00:00Z", "tenants", ("d1_migrations",)
    )
    result = s.run(write.batch)
    schema = parse_schema(result.rows[write.schema_offset :])
    assert {t.name for t in schema.tables} >= {"a", "b", "_migrations", "d1_migrations"}
    again = read(s)
    assert [r.filename for r in again.applied] == ["0001_m1.sql", "0002_m2.sql"]
    assert again.fingerprint == write.expected_after
    assert again.last_rollout == "2026-01-01T00:00:00Z"


def test_the_write_fails_whole_when_the_ledger_changed_since_the_read(tmp_path: Path) -> None:
    s = session(tmp_path)
    state = read(s)
    (write,) = plan_writes(NAMES, state, MIGRATIONS, "t", "tenants", ("d1_migrations",))
    # Another run (or wrangler itself) records a migration between our read and write.
    s.run(plan_writes(NAMES, state, MIGRATIONS[:1], "t", "tenants", ("d1_migrations",))[0].batch)
    with pytest.raises(BatchError) as caught:
        s.run(write.batch)
    assert CAS_CONSTRAINT in caught.value.sqlite_message
    conn = sqlite3.connect(tmp_path / "m.sqlite")
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'b'").fetchall() == []


def test_a_row_in_wranglers_ledger_alone_trips_the_guard(tmp_path: Path) -> None:
    s = session(tmp_path)
    state = read(s)
    (write,) = plan_writes(NAMES, state, MIGRATIONS, "t", "tenants", ("d1_migrations",))
    conn = sqlite3.connect(tmp_path / "m.sqlite")
    conn.execute("INSERT INTO d1_migrations (name) VALUES ('0001_m1.sql')")
    conn.commit()
    with pytest.raises(BatchError, match=CAS_CONSTRAINT):
        s.run(write.batch)


def test_split_writes_chain_their_fingerprints(tmp_path: Path) -> None:
    s = session(tmp_path)
    state = read(s)
    writes = plan_writes(
        NAMES, state, MIGRATIONS, "t", "tenants", ("d1_migrations",), split_bytes=10
    )
    assert len(writes) == 2
    for write in writes:
        s.run(write.batch)
    assert read(s).fingerprint == writes[-1].expected_after


def test_an_oversized_statement_gets_a_write_of_its_own_marked_for_import(tmp_path: Path) -> None:
    big = migration(3, "INSERT INTO a (id) SELECT 1 WHERE '" + "x" * 100_001 + "' <> '';")
    s = session(tmp_path)
    writes = plan_writes(NAMES, read(s), (*MIGRATIONS, big), "t", "tenants", ("d1_migrations",))
    assert [w.via_import for w in writes] == [False, True]
