"""apply's remote read creates missing ledgers in the same request (against the D1 API
stand-in, tests/d1_api_server.py: a local stand-in for Cloudflare, NOT Cloudflare).

A database orchestrate has never applied costs one read and one write, whether it is
fresh or wrangler has applied some of it; read-only commands still create nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import orchestrator.runner.atomic as atomic
from orchestrator.engines.ledger import WRANGLER_DDL
from orchestrator.services import ApplyRequest, apply_databases, survey
from orchestrator.settings import Settings
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import ACCOUNT, TOKEN, api_engine, db_id, serve_tree, small_tree

LEDGERS = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%migrations%'"


@pytest.fixture
def remote_env(api_server: D1ApiServer, monkeypatch: pytest.MonkeyPatch) -> D1ApiServer:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", api_server.base_url)
    return api_server


def apply(root: Path, batch: str = "database") -> list[str]:
    run = apply_databases(ApplyRequest(Settings(root=root), remote=True, batch=batch))
    assert run, run.results
    return [a.name for a in run.results[0].applied]


def test_a_fresh_database_costs_one_read_and_one_write(
    remote_env: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono")
    serve_tree(remote_env, 1)
    assert apply(root) == ["0001_t1", "0002_t2", "0003_t3"]
    sent = [r.sql or "" for r in remote_env.requests]
    assert len(sent) == 2
    assert sent[0].startswith('CREATE TABLE IF NOT EXISTS "_migrations"')
    assert "SELECT m.name AS tbl" in sent[0]


def test_a_database_only_wrangler_applied_costs_one_read_and_one_write(
    remote_env: D1ApiServer, tmp_path: Path
) -> None:
    """Before, the read failed on the missing _migrations, a probe found d1_migrations,
    and a third read took its rows: four requests in all."""
    root = small_tree(tmp_path / "mono")
    serve_tree(remote_env, 1)
    remote_env.execute_local(db_id(0), WRANGLER_DDL.format(table='"d1_migrations"'))
    remote_env.execute_local(db_id(0), "CREATE TABLE t1 (id INTEGER PRIMARY KEY, note TEXT)")
    remote_env.execute_local(db_id(0), "INSERT INTO d1_migrations (name) VALUES ('0001_t1.sql')")
    assert apply(root) == ["0002_t2", "0003_t3"]
    assert len(remote_env.requests) == 2
    names = remote_env.execute_local(db_id(0), "SELECT name FROM d1_migrations ORDER BY id")
    assert [n for (n,) in names] == ["0001_t1.sql", "0002_t2.sql", "0003_t3.sql"]


def test_read_only_commands_and_per_migration_reads_create_nothing(
    remote_env: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono")
    serve_tree(remote_env, 1)
    plan = survey(Settings(root=root), engine=api_engine(remote_env)).plan
    assert [len(db.pending) for db in plan.databases] == [3]
    assert remote_env.execute_local(db_id(0), LEDGERS) == []
    remote_env.clear_requests()
    # --batch per-migration keeps its read ahead of the bookmark it takes before any write.
    assert apply(root, batch="per-migration") == ["0001_t1", "0002_t2", "0003_t3"]
    first = remote_env.requests[0].sql or ""
    assert first.startswith("SELECT m.name AS tbl")


def test_a_database_wrangler_applied_completely_costs_the_read_alone(
    remote_env: D1ApiServer, tmp_path: Path
) -> None:
    """The read made orchestrate's (empty) ledger: no second request to create it."""
    root = small_tree(tmp_path / "mono")
    serve_tree(remote_env, 1)
    remote_env.execute_local(db_id(0), WRANGLER_DDL.format(table='"d1_migrations"'))
    for m in (1, 2, 3):
        remote_env.execute_local(db_id(0), f"CREATE TABLE t{m} (id INTEGER PRIMARY KEY, note TEXT)")
        remote_env.execute_local(
            db_id(0), f"INSERT INTO d1_migrations (name) VALUES ('000{m}_t{m}.sql')"
        )
    assert apply(root) == []
    assert len(remote_env.requests) == 1
    assert remote_env.execute_local(db_id(0), LEDGERS) == [
        ("d1_migrations",),
        ("_migrations",),
        ("_migrations_lock",),
    ]


def test_wrangler_applying_between_the_creating_read_and_the_write_runs_nothing_twice(
    remote_env: D1ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read found the ledgers empty (it had just made them); wrangler then records 0001:
    the write's compare-and-swap fails it whole, the re-read settles it, the rest goes on."""
    root = small_tree(tmp_path / "mono")
    serve_tree(remote_env, 1)
    original = atomic.database_writes
    fired: list[bool] = []

    def wrangler_first(*args: Any, **kwargs: Any) -> Any:
        if not fired:
            fired.append(True)
            remote_env.execute_local(
                db_id(0), "CREATE TABLE t1 (id INTEGER PRIMARY KEY, note TEXT)"
            )
            remote_env.execute_local(
                db_id(0), "INSERT INTO d1_migrations (name) VALUES ('0001_t1.sql')"
            )
        return original(*args, **kwargs)

    monkeypatch.setattr(atomic, "database_writes", wrangler_first)
    run = apply_databases(ApplyRequest(Settings(root=root), remote=True))
    [result] = run.results
    assert fired and run
    assert [a.name for a in result.applied] == ["0002_t2", "0003_t3"]
    assert result.elsewhere == ("0001_t1",)
    names = remote_env.execute_local(db_id(0), "SELECT name FROM d1_migrations ORDER BY id")
    assert [n for (n,) in names] == ["0001_t1.sql", "0002_t2.sql", "0003_t3.sql"]
