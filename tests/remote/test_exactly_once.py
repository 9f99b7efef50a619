"""Exactly once, against every writer: the ledger's UNIQUE rows are the final guard.

wrangler ignores orchestrate's lock, so the lock alone cannot stop a migration
from running twice. Every ledger row a migration's batch writes (ours and
wrangler's) is a plain INSERT on a UNIQUE name: a batch whose migration another
writer recorded first fails whole, and orchestrate settles it from the ledger.

The remote cases run real wrangler and real orchestrate processes at the same
time against ``tests/d1_api_server.py`` (a local stand-in for Cloudflare's D1
API, not Cloudflare), with latency injected so that the two runs overlap.
Each migration inserts one row into ``counter`` with no guard at all, so a
migration that ran twice leaves two rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from orchestrator.engines.local import LocalEngine
from orchestrator.model import RunResult
from orchestrator.runner import ApplyOptions, apply_plan
from orchestrator.runner.job import Progress
from orchestrator.services import survey
from orchestrator.settings import Settings
from tests.apply.helpers import state_path
from tests.conftest import WRANGLER, toml_binding, write_tree
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import ACCOUNT, TOKEN, api_engine, db_id

MIGRATIONS = 12


def counter_tree(root: Path, migrations: int = MIGRATIONS) -> Path:
    """One database; 0001 creates ``counter`` (no IF NOT EXISTS), every file adds one row."""
    files: dict[str, str | bytes] = {
        "package.json": '{"name": "mono", "private": true}\n',
        "packages/c/wrangler.toml": toml_binding("counter-db", db_id(0)),
        "packages/c/migrations/0001_counter.sql": (
            "CREATE TABLE counter (name TEXT);\nINSERT INTO counter (name) VALUES ('0001');\n"
        ),
    }
    for n in range(2, migrations + 1):
        files[f"packages/c/migrations/{n:04d}_bump.sql"] = (
            f"INSERT INTO counter (name) VALUES ('{n:04d}');\n"
        )
    return write_tree(root, files)


def remote_env(server: D1ApiServer) -> dict[str, str]:
    return dict(
        os.environ,
        CLOUDFLARE_API_TOKEN=TOKEN,
        CLOUDFLARE_ACCOUNT_ID=ACCOUNT,
        CLOUDFLARE_API_BASE_URL=server.base_url,
        WRANGLER_SEND_METRICS="false",
        CI="true",
        PYTHONUNBUFFERED="1",
    )


def start_wrangler(cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    assert WRANGLER is not None
    return subprocess.Popen(
        [WRANGLER, "d1", "migrations", "apply", "counter-db", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_orchestrate(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "apply", "--all", "--root", str(root), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_exactly_once(rows: list[tuple[str]], wrangler_names: list[str]) -> None:
    """Every migration ran once (one counter row each) and wrangler's ledger lists all."""
    names = sorted(r[0] for r in rows)
    assert names == [f"{n:04d}" for n in range(1, MIGRATIONS + 1)], names
    assert sorted(wrangler_names) == [
        f"{n:04d}_{'counter' if n == 1 else 'bump'}.sql" for n in range(1, MIGRATIONS + 1)
    ]


@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
# 0.0: orchestrate usually wins the race (wrangler's batches then fail whole on our rows);
# 0.6: wrangler has applied a few when orchestrate locks, and keeps going during its run.
@pytest.mark.parametrize("wrangler_head_start", [0.0, 0.6])
def test_wrangler_and_orchestrate_at_once_run_every_migration_exactly_once(
    tmp_path: Path, api_server: D1ApiServer, wrangler_head_start: float
) -> None:
    root = counter_tree(tmp_path / "mono")
    api_server.create_database("counter-db", db_id(0))
    api_server.latency = 0.12  # every request: the two runs overlap for seconds
    env = remote_env(api_server)
    wrangler = start_wrangler(root / "packages/c", env, "--remote")
    if wrangler_head_start:
        threading.Event().wait(wrangler_head_start)
    orchestrate = start_orchestrate(root, env, "--remote", "--format", "json")
    out, err = orchestrate.communicate(timeout=120)
    w_out, w_err = wrangler.communicate(timeout=120)
    assert orchestrate.returncode == 0, out + err
    [result] = json.loads(out)["databases"]
    rows = api_server.execute_local(db_id(0), "SELECT name FROM counter")
    wrangler_ledger = [
        r[0] for r in api_server.execute_local(db_id(0), "SELECT name FROM d1_migrations")
    ]
    assert_exactly_once(rows, wrangler_ledger)
    ours = {r[0] for r in api_server.execute_local(db_id(0), "SELECT filename FROM _migrations")}
    applied = {a["name"] + ".sql" for a in result["applied"]}
    elsewhere = {n + ".sql" for n in result["applied_elsewhere"]}
    # The report tells the truth: what orchestrate ran is its ledger; the rest wrangler ran.
    assert applied == ours and not applied & elsewhere
    # What was neither was already applied when orchestrate took its lock.
    assert applied | elsewhere <= set(wrangler_ledger), (result, w_out + w_err)
    print(f"orchestrate ran {len(applied)}, settled {len(elsewhere)} wrangler ran meanwhile")
    # Both tools agree nothing is left: wrangler lists nothing, orchestrate plans nothing.
    listed = subprocess.run(
        [str(WRANGLER), "d1", "migrations", "list", "counter-db", "--remote"],
        cwd=root / "packages/c", env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "No migrations to apply" in listed.stdout, listed.stdout + listed.stderr
    plan = subprocess.run(
        [sys.executable, "-m", "orchestrator", "plan", "--remote", "--root", str(root),
         "--format", "json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert json.loads(plan.stdout)["databases"][0]["pending"] == 0, plan.stdout + plan.stderr


def test_two_orchestrates_past_an_expired_lock_run_every_migration_once(
    tmp_path: Path, api_server: D1ApiServer
) -> None:
    """A lock that expired under a slow run lets a second run in: the ledger still guards."""
    root = counter_tree(tmp_path / "mono")
    api_server.create_database("counter-db", db_id(0))
    api_server.latency = 0.05
    # A lock that lives 0 s: each run takes it at once, so nothing but the ledger stops them.
    options = ApplyOptions(lock_ttl=0.0)
    plans = [survey(Settings(root=root), engine=api_engine(api_server)).plan for _ in range(2)]
    runs: list[RunResult] = []
    threads = [
        threading.Thread(
            target=lambda p=p: runs.append(apply_plan(p, api_engine(api_server), options))
        )
        for p in plans
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(runs) == 2 and all(runs), runs
    rows = api_server.execute_local(db_id(0), "SELECT name FROM counter")
    wrangler_ledger = [
        r[0] for r in api_server.execute_local(db_id(0), "SELECT name FROM d1_migrations")
    ]
    assert_exactly_once(rows, wrangler_ledger)
    applied = [a.name for run in runs for a in run.results[0].applied]
    elsewhere = [n for run in runs for n in run.results[0].elsewhere]
    assert sorted(applied) == sorted(set(applied)) and len(applied) == MIGRATIONS
    # What one run settled as another writer's, the other run applied (a run that started
    # late simply finds the first ones applied when it locks: they are neither).
    assert set(elsewhere) <= set(applied) and len(elsewhere) == len(set(elsewhere))


def test_local_engine_settles_a_migration_another_writer_recorded(tmp_path: Path) -> None:
    """Local state: while orchestrate holds its lock, another writer (here a second
    connection doing what wrangler's batch does) applies the next migrations."""
    root = counter_tree(tmp_path / "mono")
    engine = LocalEngine(root)
    plan = survey(Settings(root=root), engine=engine).plan
    path = state_path(root, "counter-db")
    done: list[int] = []

    def rival(db: str, index: int, total: int, file: str) -> None:
        if index != 3 or done:
            return
        done.append(index)
        # wrangler's own batch for 0004..0006: the migration plus its d1_migrations row.
        with sqlite3.connect(path) as connection:
            for n in (4, 5, 6):
                connection.execute(f"INSERT INTO counter (name) VALUES ('{n:04d}')")
                connection.execute(
                    "INSERT INTO d1_migrations (name) VALUES (?)", (f"{n:04d}_bump.sql",)
                )

    run = apply_plan(plan, engine, ApplyOptions(), progress=Progress(step=rival))
    assert run, run.results
    [result] = run.results
    assert result.elsewhere == ("0004_bump", "0005_bump", "0006_bump")
    assert len(result.applied) == MIGRATIONS - 3
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM counter").fetchall()
        names = [r[0] for r in connection.execute("SELECT name FROM d1_migrations")]
    assert_exactly_once(rows, names)


@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
def test_local_engine_and_real_wrangler_in_the_middle_of_a_run(tmp_path: Path) -> None:
    """Real ``wrangler d1 migrations apply --local`` runs between two of orchestrate's
    migrations (wrangler ignores orchestrate's lock): nothing runs twice."""
    root = counter_tree(tmp_path / "mono")
    engine = LocalEngine(root)
    plan = survey(Settings(root=root), engine=engine).plan
    outputs: list[str] = []

    def rival(db: str, index: int, total: int, file: str) -> None:
        if index == 3 and not outputs:
            assert WRANGLER is not None
            done = subprocess.run(
                [WRANGLER, "d1", "migrations", "apply", "counter-db", "--local"],
                cwd=root / "packages/c", env=dict(os.environ, WRANGLER_SEND_METRICS="false", CI="true"),
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            outputs.append(done.stdout + done.stderr)

    run = apply_plan(plan, engine, ApplyOptions(), progress=Progress(step=rival))
    assert run, (run.results, outputs)
    [result] = run.results
    assert len(result.applied) == 3 and len(result.elsewhere) == MIGRATIONS - 3, outputs
    with sqlite3.connect(state_path(root, "counter-db")) as connection:
        rows = connection.execute("SELECT name FROM counter").fetchall()
        names = [r[0] for r in connection.execute("SELECT name FROM d1_migrations")]
    assert_exactly_once(rows, names)
