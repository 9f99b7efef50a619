"""``apply --remote`` with one guarded write per database (``--batch database``), against
the D1 API stand-in (``tests/d1_api_server.py``, not Cloudflare), some cases through the
fault proxy (``tests/fault_proxy.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.model import RunResult
from orchestrator.runner import ApplyOptions, apply_plan
from orchestrator.services import survey
from orchestrator.settings import Settings
from tests.d1_api_server import D1ApiServer
from tests.fault_proxy import Fault, FaultProxy
from tests.remote.conftest import api_engine, db_id
from tests.remote.test_fault_suite import counters, engine_through, three_counters


@pytest.fixture
def root(tmp_path: Path, api_server: D1ApiServer) -> Path:
    api_server.create_database("counter-db", db_id(0))
    return three_counters(tmp_path / "mono")


@pytest.fixture
def proxy(api_server: D1ApiServer) -> Iterator[FaultProxy]:
    with FaultProxy(api_server.base_url) as running:
        yield running


def one_write(root: Path, engine: object) -> RunResult:
    found = survey(Settings(root=root), engine=engine)  # type: ignore[arg-type]
    options = ApplyOptions(batch="database", states=tuple(found.states.items()))
    return apply_plan(found.plan, engine, options)  # type: ignore[arg-type]


def test_a_lost_answer_to_the_write_is_settled_from_the_ledger(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer
) -> None:
    """The write committed but its answer was unreadable: one re-read says so; nothing resent."""
    proxy.add(Fault.body(b"<html>bad gateway</html>", body_contains="0002_bump"))
    run = one_write(root, engine_through(proxy))
    assert run, run.results
    [result] = run.results
    assert [a.name for a in result.applied] == ["0001_counter", "0002_bump", "0003_bump"]
    assert not any(a.timed for a in result.applied)  # confirmed afterwards: time unknown
    assert result.restore_command and "--timestamp=" in result.restore_command
    assert counters(api_server) == ["0001", "0002", "0003"]


def test_a_failing_migration_fails_the_whole_write_and_names_its_line(
    root: Path, api_server: D1ApiServer
) -> None:
    (root / "packages/c/migrations/0003_bump.sql").write_text("INSERT INTO nope VALUES (1);\n")
    run = one_write(root, api_engine(api_server))
    [result] = run.results
    assert not run and result.applied == () and result.restore_command is None
    assert result.file == "packages/c/migrations/0003_bump.sql" and result.line == 1
    assert result.error is not None and "no such table: nope" in result.error
    assert (
        "nothing of this write committed" in result.error
        and "--batch per-migration" in result.error
    )
    tables = {r[0] for r in api_server.execute_local(db_id(0), "SELECT name FROM sqlite_master")}
    assert "counter" not in tables  # 0001 rolled back with the rest


def test_a_write_that_read_a_stale_ledger_fails_whole_then_goes_on(
    root: Path, api_server: D1ApiServer
) -> None:
    """Another writer (wrangler's own batch for 0001) commits between the read and the
    write: the guard fails the write, the re-read settles it, 0002 and 0003 follow."""
    engine = api_engine(api_server)
    found = survey(Settings(root=root), engine=engine)
    for sql in (
        "CREATE TABLE counter (name TEXT)",
        "INSERT INTO counter VALUES ('0001')",
        "CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
        "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
        "INSERT INTO d1_migrations (name) VALUES ('0001_counter.sql')",
    ):
        api_server.execute_local(db_id(0), sql)
    api_server.clear_requests()
    options = ApplyOptions(batch="database", states=tuple(found.states.items()))
    run = apply_plan(found.plan, engine, options)
    assert run, run.results
    [result] = run.results
    assert result.elsewhere == ("0001_counter",)
    assert [a.name for a in result.applied] == ["0002_bump", "0003_bump"]
    assert counters(api_server) == ["0001", "0002", "0003"]
    writes = [r for r in api_server.requests if r.sql and "_migrations_cas" in r.sql]
    assert len(writes) == 2  # the write that lost, then the write after the re-read
