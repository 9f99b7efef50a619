"""Every fault the issue names, against the D1 API stand-in (tests/d1_api_server.py,
a local stand-in for Cloudflare): 429, 5xx, timeouts, dropped connections
before and after commit, refused credentials, and the shared rate budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.engines import Batch, Sql
from orchestrator.engines.api import ApiEngine, ApiSession
from orchestrator.engines.d1http import Credentials, D1Http
from orchestrator.engines.ratelimit import RateBudget
from orchestrator.errors import AuthError, OutcomeUnknown, TargetError
from orchestrator.model import RunResult, RunStatus
from orchestrator.runner import ApplyOptions, apply_plan
from orchestrator.services import survey
from orchestrator.settings import Settings
from tests.d1_api_server import D1ApiServer, Fault
from tests.remote.conftest import (
    ACCOUNT,
    FAST,
    TOKEN,
    api_engine,
    db_id,
    serve_tree,
    settled,
    small_tree,
)
from tests.remote.recording import RecordingTransport
from tests.remote.test_remote_api_engine import database


def apply_tree(engine: ApiEngine, root: Path, jobs: int = 4) -> RunResult:
    plan = survey(Settings(root=root), engine=engine).plan
    return apply_plan(plan, engine, ApplyOptions(jobs=jobs))


def ledger(server: D1ApiServer, n: int = 0) -> list[str]:
    rows = server.execute_local(db_id(n), "SELECT filename FROM _migrations ORDER BY id")
    return [r[0] for r in rows]


def read_batch() -> Batch:
    return Batch((Sql("SELECT 1 AS one"),), "read")


@pytest.fixture
def root(tmp_path: Path, api_server: D1ApiServer) -> Path:
    serve_tree(api_server, 1)
    return small_tree(tmp_path / "mono", migrations=3)


def session_of(engine: ApiEngine, root: Path) -> ApiSession:
    return engine.open(engine.targets(database(root, "db0"))[0])


def test_429_waits_for_retry_after_then_retries(api_server: D1ApiServer, root: Path) -> None:
    api_server.faults.add(Fault.http_429(retry_after=0.4, path="/query"))
    started = time.monotonic()
    rows = session_of(api_engine(api_server), root).run(read_batch()).rows
    assert rows == (({"one": 1},),)
    assert time.monotonic() - started >= 0.4
    assert [r.status for r in settled(api_server)] == [429, 200]


def test_429_on_a_migration_is_resent_since_nothing_ran(
    api_server: D1ApiServer, root: Path
) -> None:
    api_server.faults.add(Fault.http_429(retry_after=0.05, path="/query"), times=3)
    assert apply_tree(api_engine(api_server), root)
    assert ledger(api_server) == ["0001_t1.sql", "0002_t2.sql", "0003_t3.sql"]


def test_5xx_on_reads_is_retried_with_backoff(api_server: D1ApiServer, root: Path) -> None:
    api_server.faults.http_5xx(503, path="/query")
    api_server.faults.http_5xx(500, path="/query")
    assert session_of(api_engine(api_server), root).run(read_batch()).rows == (({"one": 1},),)
    assert [r.status for r in settled(api_server)] == [503, 500, 200]


def test_reads_give_up_after_the_last_attempt(api_server: D1ApiServer, root: Path) -> None:
    api_server.faults.add(Fault.http_5xx(502, path="/query"), times=FAST.attempts)
    with pytest.raises(TargetError, match="gave up after 5 attempts: HTTP 502"):
        session_of(api_engine(api_server), root).run(read_batch())


def test_a_read_timeout_is_retried(api_server: D1ApiServer, root: Path) -> None:
    api_server.faults.timeout(seconds=1.0, path="/query")
    engine = api_engine(api_server, read_timeout=0.3)
    assert session_of(engine, root).run(read_batch()).rows == (({"one": 1},),)
    assert len(settled(api_server)) == 2


def test_5xx_on_a_migration_is_not_resent_blindly(api_server: D1ApiServer, root: Path) -> None:
    engine = api_engine(api_server)
    write = Batch((Sql("CREATE TABLE w (a)"),), "0001_w.sql")
    api_server.faults.http_5xx(503, path="/query")
    with pytest.raises(OutcomeUnknown):
        session_of(engine, root).run(write)
    assert len(settled(api_server)) == 1


def test_5xx_on_a_migration_is_checked_against_the_ledger_then_resent(
    api_server: D1ApiServer, root: Path
) -> None:
    api_server.faults.add(Fault.http_5xx(503, path="/query"), times=2)
    # Two reads during survey are retried; the 503s land on them, or on writes that
    # the runner verifies and resends. Either way each migration runs once.
    run = apply_tree(api_engine(api_server), root)
    assert run and ledger(api_server) == ["0001_t1.sql", "0002_t2.sql", "0003_t3.sql"]


def counter_tree(root: Path) -> None:
    """A migration that is visibly not idempotent: running it twice leaves two rows."""
    migrations = root / "packages/p0/migrations"
    for f in migrations.iterdir():
        f.unlink()
    (migrations / "0001_counter.sql").write_text("CREATE TABLE IF NOT EXISTS counter (n);\n")
    (migrations / "0002_bump.sql").write_text("INSERT INTO counter (n) VALUES (1);\n")


def dropped(kind: str) -> Fault:
    if kind == "drop_after_commit":
        return Fault.drop_after_commit(method="POST", path="/query")
    return Fault.drop_before_commit(method="POST", path="/query")


@pytest.mark.parametrize("kind", ["drop_after_commit", "drop_before_commit"])
def test_a_dropped_connection_never_applies_a_migration_twice(
    api_server: D1ApiServer, root: Path, kind: str
) -> None:
    counter_tree(root)
    engine = api_engine(api_server, read_timeout=0.5)
    first = apply_plan(survey(Settings(root=root), engine=engine).plan, engine, ApplyOptions(to=1))
    assert first
    plan = survey(Settings(root=root), engine=engine).plan
    api_server.clear_requests()
    # The next POST /query is the lock batch (a no-delay "timeout" lets it through);
    # the one after it carries 0002.
    api_server.faults.add(Fault.timeout(0.0, method="POST", path="/query"), dropped(kind))
    run = apply_plan(plan, engine, ApplyOptions())
    assert run, run.results
    assert ledger(api_server) == ["0001_counter.sql", "0002_bump.sql"]
    assert api_server.execute_local(db_id(0), "SELECT COUNT(*) FROM counter") == [(1,)]
    sqls = [r.sql or "" for r in api_server.requests if r.method == "POST"]
    bumps = [s for s in sqls if s.startswith("INSERT INTO counter")]
    verifies = [s for s in sqls if s.startswith("SELECT m.name AS tbl")]  # the ledger re-read
    assert len(verifies) == 1  # the ledger was read before anything was resent
    assert len(bumps) == (1 if kind == "drop_after_commit" else 2)  # resent only if not committed
    times = api_server.execute_local(
        db_id(0), "SELECT execution_time_ms FROM _migrations ORDER BY id"
    )
    # A commit confirmed only from the ledger has no known time: it stays NULL.
    assert times[1] == ((None,) if kind == "drop_after_commit" else times[1])
    assert times[0] != (None,)


def test_a_write_timeout_racing_its_resend_still_applies_once(
    api_server: D1ApiServer, root: Path
) -> None:
    """The first send times out on our side but commits late on the server: the
    resend and the late commit race; the UNIQUE ledger row makes the loser roll back."""
    counter_tree(root)
    engine = api_engine(api_server, read_timeout=0.3)
    assert apply_plan(survey(Settings(root=root), engine=engine).plan, engine, ApplyOptions(to=1))
    plan = survey(Settings(root=root), engine=engine).plan
    api_server.faults.add(
        Fault.timeout(0.0, method="POST", path="/query"),  # the lock batch: no delay
        Fault.timeout(0.8, method="POST", path="/query"),  # 0002: commits after we gave up
    )
    run = apply_plan(plan, engine, ApplyOptions())
    time.sleep(1.0)  # let the late first send finish on the server
    assert run, run.results
    assert ledger(api_server) == ["0001_counter.sql", "0002_bump.sql"]
    assert api_server.execute_local(db_id(0), "SELECT COUNT(*) FROM counter") == [(1,)]


def test_403_on_a_write_stops_every_database_naming_d1_edit(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    serve_tree(api_server, 3)
    root = small_tree(tmp_path / "mono", databases=3)
    engine = api_engine(api_server)
    plan = survey(Settings(root=root), engine=engine).plan  # reads are allowed
    api_server.clear_requests()
    api_server.faults.http_error(403, method="POST", path="/query")  # the first write is refused
    run = apply_plan(plan, engine, ApplyOptions(jobs=1))
    statuses = {r.database: (r.status, r.error) for r in run.results}
    status, error = statuses["db0"]
    assert status is RunStatus.FAILED and error is not None
    assert "HTTP 403" in error and "D1 Edit" in error and "$CLOUDFLARE_API_TOKEN" in error
    assert statuses["db1"] == (RunStatus.SKIPPED, "not started: the credentials were refused")
    assert statuses["db2"] == statuses["db1"]
    touched = {r.path.split("/")[7] for r in api_server.requests}
    assert touched == {db_id(0)}  # nobody else was even asked
    assert sum(r.status == 403 for r in settled(api_server)) == 1  # refused calls are not retried


def test_401_on_the_bookmark_names_d1_read(api_server: D1ApiServer, root: Path) -> None:
    api_server.faults.http_error(401, method="GET")
    with pytest.raises(AuthError, match=r"HTTP 401.*D1 Read"):
        session_of(api_engine(api_server), root).bookmark()


def test_the_rate_budget_is_shared_by_parallel_databases(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    serve_tree(api_server, 3)
    root = small_tree(tmp_path / "mono", databases=3, migrations=4)
    budget = RateBudget(limit=8, window=0.5)
    transport = RecordingTransport()
    http = D1Http(
        Credentials(ACCOUNT, api_server.base_url, TOKEN),
        transport=transport,
        budget=budget,
        policy=FAST,
    )
    started = time.monotonic()
    run = apply_tree(ApiEngine(http), root, jobs=3)
    elapsed = time.monotonic() - started
    assert run
    times = [t for t, *_ in transport.sent]
    # The budget counts when a thread takes a token; the transport sees the send a
    # moment later, so allow some skew between the two (under a loaded 2-core machine a
    # thread waits tens of milliseconds for the CPU: 10 ms failed now and then).
    busiest = max(sum(1 for u in times if t <= u < t + 0.45) for t in times)
    assert busiest <= 8, f"{busiest} requests within one 0.5 s window"
    # 3 x (2 survey reads + bookmark + lock + 4 + unlock) = 27 requests need >= 3 windows.
    assert len(times) == 27
    assert elapsed >= 1.0
