"""The lock's lease: a migration's batch renews the lock row only once half its life is gone."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engines import Batch, BatchResult
from orchestrator.engines.local import LocalEngine, LocalSession
from orchestrator.model import RunResult
from orchestrator.runner import ApplyOptions, apply_plan
from orchestrator.runner.job import _Lease
from orchestrator.services import survey
from orchestrator.settings import Settings
from tests.apply.helpers import ledger, state_path
from tests.conftest import toml_binding, write_tree


def tree(root: Path, migrations: int = 5) -> Path:
    files: dict[str, str | bytes] = {"p/wrangler.toml": toml_binding("lease-db", "l" * 8)}
    for n in range(1, migrations + 1):
        files[f"p/migrations/{n:04d}_t{n}.sql"] = f"CREATE TABLE t{n} (id INTEGER);\n"
    return write_tree(root, files)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement any SQLite connection of the run executes."""
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(seen.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced)
    yield seen


def renewals(seen: list[str]) -> int:
    return sum(1 for s in seen if s.startswith('UPDATE "_migrations_lock" SET expires_at'))


def apply(root: Path, options: ApplyOptions) -> None:
    engine = LocalEngine(root)
    run = apply_plan(survey(Settings(root=root), engine=engine).plan, engine, options)
    assert run, run.results
    assert len(run.results[0].applied) == 5


def test_a_fresh_lock_is_not_rewritten_by_every_migration(
    tmp_path: Path, statements: list[str]
) -> None:
    root = tree(tmp_path / "mono")
    apply(root, ApplyOptions())
    assert renewals(statements) == 0
    assert len(ledger(state_path(root, "lease-db"))) == 5


def test_a_lock_past_half_its_life_is_renewed_with_the_next_migration(
    tmp_path: Path, statements: list[str]
) -> None:
    root = tree(tmp_path / "mono")
    apply(root, ApplyOptions(lock_ttl=0.0))  # always past half: renewed in every batch
    assert renewals(statements) == 5


def test_the_lease_is_due_once_its_last_renewal_is_30_s_old() -> None:
    lease = _Lease(ttl=600.0, expires=1000.0)  # renewed at 400
    assert lease.due(now=429.0) is None  # 571 s left
    assert lease.due(now=431.0) == 1031.0  # 569 s left: renewed with this batch
    assert _Lease(ttl=600.0, expires=0.0).due(now=5.0) == 605.0  # not ours: renew at once
    assert _Lease(ttl=10.0, expires=100.0).due(now=96.0) == 106.0  # short lock: half of it


@pytest.mark.parametrize(
    "took",
    [
        {"0001_t1.sql": 250.0, "0002_t2.sql": 400.0},  # a slow migration after a slowish one
        {"0001_t1.sql": 299.0, "0002_t2.sql": 302.0},  # two five-minute stalls
    ],
)
def test_slow_migrations_keep_the_lock_from_a_second_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, took: dict[str, float]
) -> None:
    """On a simulated clock each batch takes ``took`` seconds; right after 0002 commits a
    second run asks for the lock without waiting. It must find it held (the review's case:
    renewing only past half the TTL let it expire)."""
    root = tree(tmp_path / "mono")
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    real_run = LocalSession.run
    rival: list[RunResult] = []

    def slow_run(self: LocalSession, batch: Batch) -> BatchResult:
        result = real_run(self, batch)
        name = (batch.label or "").rsplit("/", 1)[-1]
        clock[0] += took.get(name, 0.0)
        if name == "0002_t2.sql" and not rival:
            rival.append(run_once(root, ApplyOptions(lock_timeout=0.0)))
        return result

    monkeypatch.setattr(LocalSession, "run", slow_run)
    first = run_once(root, ApplyOptions())
    assert first and len(first.results[0].applied) == 5 and not first.results[0].elsewhere
    [refused] = rival[0].results
    assert not refused.applied and refused.error is not None and "locked by" in refused.error


def run_once(root: Path, options: ApplyOptions) -> RunResult:
    engine = LocalEngine(root)
    return apply_plan(survey(Settings(root=root), engine=engine).plan, engine, options)
