"""Real processes on real SQLite files: kill -9, Ctrl-C, concurrent runs, locks."""

from __future__ import annotations

import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.engines.local import create_state_file
from tests.apply.helpers import cli, cli_json, ledger, query, schema, spawn, state_path
from tests.conftest import toml_binding, write_tree

SLOW = """-- Migration: {n:04d}
CREATE TABLE IF NOT EXISTS t{n} (id INTEGER PRIMARY KEY, v TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})
INSERT INTO t{n} (v) SELECT hex(randomblob(16)) FROM c;
INSERT INTO counter (n) VALUES ({n});
"""


def slow_tree(root: Path, databases: int = 3, migrations: int = 40, rows: int = 3000) -> Path:
    files: dict[str, str | bytes] = {}
    for d in range(databases):
        files[f"p{d}/wrangler.toml"] = toml_binding(f"db{d}", f"dddddddd-0000-0000-0000-{d:012d}")
        files[f"p{d}/migrations/0000_counter.sql"] = (
            "CREATE TABLE IF NOT EXISTS counter (n INTEGER);\n"
        )
        for n in range(1, migrations + 1):
            files[f"p{d}/migrations/{n:04d}_m{n}.sql"] = SLOW.format(n=n, rows=rows)
    return write_tree(root, files)


def assert_consistent(root: Path, databases: int, rows: int) -> None:
    """Every recorded migration is wholly there; nothing unrecorded is there at all."""
    for d in range(databases):
        path = state_path(root, f"db{d}")
        if not path.exists():
            continue
        names = {r[0] for r in query(path, "SELECT name FROM sqlite_master WHERE type='table'")}
        if "_migrations" not in names:
            # Killed after the state file was made and before the ledgers' batch committed:
            # nothing may have been applied, and wrangler's ledger is not there either.
            assert names <= {"_cf_METADATA"}, names
            continue
        recorded = ledger(path)
        numbers = [int(name[:4]) for name in recorded if name != "0000_counter.sql"]
        tables = {
            r[0]
            for r in query(
                path, "SELECT name FROM sqlite_master WHERE type='table' AND name GLOB 't[0-9]*'"
            )
        }
        assert tables == {f"t{n}" for n in numbers}
        if numbers:
            assert sorted(r[0] for r in query(path, "SELECT n FROM counter")) == sorted(numbers)
            for n in numbers:
                assert query(path, f"SELECT COUNT(*) FROM t{n}") == [(rows,)]
        assert query(path, "SELECT COUNT(*) FROM d1_migrations") == [(len(recorded),)]


@pytest.mark.slow
def test_kill_9_in_a_loop_then_rerun_matches_a_clean_apply(tmp_path: Path) -> None:
    root = slow_tree(tmp_path / "crashy")
    clean = slow_tree(tmp_path / "clean")
    rng = random.Random(7)
    for _ in range(6):
        process = spawn("apply", "--all", "--root", str(root), "--lock-timeout", "30")
        time.sleep(rng.uniform(0.3, 1.2))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert_consistent(root, 3, 3000)
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 0, doc
    assert cli_json("apply", "--all", "--root", str(clean))[0] == 0
    for d in range(3):
        assert schema(state_path(root, f"db{d}")) == schema(state_path(clean, f"db{d}"))
        assert ledger(state_path(root, f"db{d}")) == ledger(state_path(clean, f"db{d}"))
    assert_consistent(root, 3, 3000)


def test_killed_before_the_ledgers_were_made_counts_as_nothing_applied(tmp_path: Path) -> None:
    """The state file exists (made atomically) but the run died before its first batch."""
    root = slow_tree(tmp_path / "early", databases=1, migrations=2, rows=10)
    create_state_file(state_path(root, "db0"))
    assert_consistent(root, 1, 10)
    code, doc = cli_json("apply", "--all", "--root", str(root))
    assert code == 0, doc
    assert len(ledger(state_path(root, "db0"))) == 3
    assert_consistent(root, 1, 10)


@pytest.mark.slow
def test_three_concurrent_runs_apply_every_migration_exactly_once(tmp_path: Path) -> None:
    root = slow_tree(tmp_path / "race", databases=2, migrations=25, rows=500)
    processes = [
        spawn("apply", "--all", "--root", str(root), "--lock-timeout", "120") for _ in range(3)
    ]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [o[1].decode()[-500:] for o in outputs]
    assert_consistent(root, 2, 500)
    for d in range(2):
        assert len(ledger(state_path(root, f"db{d}"))) == 26
        assert query(state_path(root, f"db{d}"), "SELECT COUNT(*) FROM _migrations_lock") == [(0,)]


@pytest.mark.slow
def test_ctrl_c_finishes_in_flight_releases_locks_and_exits_130(tmp_path: Path) -> None:
    root = slow_tree(tmp_path / "int", databases=2, migrations=60, rows=20000)
    process = spawn("apply", "--all", "--root", str(root))
    assert process.stderr is not None
    while b"[3/" not in process.stderr.readline():  # wait until it is really applying
        assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()[-800:]
    assert_consistent(root, 2, 20000)
    applied = 0
    for d in range(2):
        path = state_path(root, f"db{d}")
        if path.exists():
            assert query(path, "SELECT COUNT(*) FROM _migrations_lock") == [(0,)]
            applied += len(ledger(path))
    assert 0 < applied < 2 * 61  # stopped part-way: some work done, not all
    assert cli_json("apply", "--all", "--root", str(root))[0] == 0


def hold_lock(path: Path, pid: int, expires: float, host: str | None = None) -> None:
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT OR REPLACE INTO _migrations_lock VALUES (1, 'someone-else', ?, ?, '2026-01-01 00:00:00', ?)",
        (host or socket.gethostname(), pid, expires),
    )
    connection.commit()
    connection.close()


def one_db(tmp_path: Path) -> tuple[Path, Path]:
    root = write_tree(
        tmp_path / "lock",
        {
            "p/wrangler.toml": toml_binding("db", "eeeeeeee-0000-0000-0000-000000000001"),
            "p/migrations/0001_a.sql": "CREATE TABLE IF NOT EXISTS a (id INTEGER);",
        },
    )
    cli("apply", "--all", "--root", str(root))
    (root / "p/migrations/0002_b.sql").write_text("CREATE TABLE IF NOT EXISTS b (id INTEGER);")
    return root, state_path(root, "db")


def test_a_held_lock_waits_then_fails_clearly(tmp_path: Path) -> None:
    root, path = one_db(tmp_path)
    hold_lock(path, pid=1, expires=time.time() + 600, host="another-host")
    code, doc = cli_json("apply", "--all", "--root", str(root), "--lock-timeout", "0.5")
    assert code == 1
    assert "locked by someone-else (host another-host, pid 1)" in doc["databases"][0]["error"]
    code, out, _ = cli("unlock", "--db", "db", "--root", str(root))
    assert code == 0 and "unlocked" in out
    assert cli_json("apply", "--all", "--root", str(root))[0] == 0


def test_an_expired_lock_is_taken(tmp_path: Path) -> None:
    root, path = one_db(tmp_path)
    hold_lock(path, pid=1, expires=time.time() - 1, host="another-host")
    code, doc = cli_json("apply", "--all", "--root", str(root), "--lock-timeout", "0.5")
    assert code == 0 and doc["databases"][0]["applied"][0]["name"] == "0002_b"


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken(tmp_path: Path) -> None:
    root, path = one_db(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    hold_lock(path, pid=dead.pid, expires=time.time() + 600)
    code, _ = cli_json("apply", "--all", "--root", str(root), "--lock-timeout", "0.5")
    assert code == 0
