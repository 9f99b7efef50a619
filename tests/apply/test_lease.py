"""The lock's lease: a migration's batch renews the lock row only once half its life is gone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engines.local import LocalEngine
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


def test_the_lease_is_due_once_less_than_half_is_left() -> None:
    lease = _Lease(ttl=600.0, expires=1000.0)
    assert lease.due(now=699.0) is None  # 301 s left
    assert lease.due(now=701.0) == 1301.0  # 299 s left
    assert _Lease(ttl=600.0, expires=0.0).due(now=5.0) == 605.0  # not ours: renew at once
