"""`orchestrate baseline` and `orchestrate repair` on real SQLite files."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from orchestrator.engines import Batch, Sql, Target
from orchestrator.engines.ledger import LedgerState
from orchestrator.engines.select import choose_engine
from orchestrator.errors import BatchError
from orchestrator.lifecycle.targets import find_database, write_locked
from orchestrator.settings import load_settings
from tests.apply.helpers import cli, cli_json, ledger, query, state_path
from tests.lifecycle.helpers import apply_by_hand


def statuses(root: Path, database: str) -> list[str]:
    _, plan = cli_json("plan", "--root", str(root))
    db = next(d for d in plan["databases"] if d["name"] == database)
    return [m["status"] for m in db["migrations"]]


def file_bytes(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )


def test_baseline_dry_run_writes_nothing_then_yes_records_both_ledgers(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "io-db", 5, "packages/io")
    before = file_bytes(path)
    code, out, _ = cli("baseline", "--db", "io-db", "--to", "5", "--root", str(monorepo))
    assert code == 0
    assert "io-db (packages/io): would record 5 as applied" in out
    assert "0005  packages/io/migrations/005_workflows.sql" in out
    assert "io-db (packages/admin): no state yet" in out and "Dry run" in out
    assert file_bytes(path) == before
    assert not state_path(monorepo, "io-db", "packages/admin").exists()

    code, doc = cli_json("baseline", "--db", "io-db", "--to", "5", "--root", str(monorepo), "--yes")
    assert code == 0 and doc["written"] is True
    assert ledger(path) == [
        "0001_accounts.sql",
        "0002_api_keys.sql",
        "0003_plugins.sql",
        "0004_seed_core_plugins.sql",
        "0005_workflows.sql",
    ]
    rows = query(path, "SELECT checksum, execution_time_ms, applied_by FROM _migrations")
    assert all(
        c.startswith("sha256:") and ms is None and by == "orchestrate baseline"
        for c, ms, by in rows
    )
    assert [r[0] for r in query(path, "SELECT name FROM d1_migrations ORDER BY id")][
        -1
    ] == "005_workflows.sql"
    assert query(path, "SELECT COUNT(*) FROM _migrations_lock") == [(0,)]  # lock released

    code, out, _ = cli("baseline", "--db", "io-db", "--to", "5", "--root", str(monorepo), "--yes")
    assert code == 0 and "recorded 0 as applied (already recorded: 5)" in out


def test_after_baseline_apply_runs_only_the_rest(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "agency-db", 3)
    assert (
        cli("baseline", "--db", "agency-db", "--to", "3", "--root", str(monorepo), "--yes")[0] == 0
    )
    assert statuses(monorepo, "agency-db") == ["applied"] * 3 + ["pending"] * 3
    code, doc = cli_json("apply", "--db", "agency-db", "--root", str(monorepo))
    assert code == 0, doc
    assert [m["name"] for m in doc["databases"][0]["applied"]] == [
        "0004_assessments",
        "0005_proposals",
        "0006_invoices",
    ]
    assert len(ledger(path)) == 6


def test_baseline_to_a_number_no_migration_has_is_a_usage_error(monorepo: Path) -> None:
    apply_by_hand(monorepo, "agency-db", 3)
    code, _, err = cli(
        "baseline", "--db", "agency-db", "--to", "60", "--root", str(monorepo), "--yes"
    )
    assert code == 2 and "no migration numbered 0060" in err and "0001 to 0006" in err


def test_baseline_waits_for_the_apply_lock(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "agency-db", 3)
    assert cli("unlock", "--db", "agency-db", "--root", str(monorepo))[0] == 0  # creates the table
    query_rw(
        path,
        "INSERT INTO _migrations_lock (id, owner, host, pid, acquired_at, expires_at) VALUES (1, 'other', 'elsewhere', 1, 'now', ?)",
        (time.time() + 600,),
    )
    (monorepo / "workspace.toml").write_text(
        (monorepo / "workspace.toml")
        .read_text()
        .replace("concurrency = 4", "concurrency = 4\nlock_timeout = 0.3")
    )
    code, _, err = cli(
        "baseline", "--db", "agency-db", "--to", "3", "--root", str(monorepo), "--yes"
    )
    assert code == 1 and "locked by other" in err
    assert ledger(path) == []


def query_rw(path: Path, sql: str, params: tuple[object, ...]) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(sql, params)
    connection.close()


def test_repair_keeps_the_old_checksum_in_the_history(monorepo: Path) -> None:
    assert cli("apply", "--db", "io-db", "--root", str(monorepo))[0] == 0
    file = monorepo / "packages/io/migrations/009_user_plugins.sql"
    path = state_path(monorepo, "io-db", "packages/io")
    old = query(path, "SELECT checksum FROM _migrations WHERE filename = '0009_user_plugins.sql'")[
        0
    ][0]
    file.write_text(file.read_text() + "\n-- reviewed: comment only\n")
    assert "changed" in statuses(monorepo, "io-db")
    assert cli("apply", "--db", "io-db", "--root", str(monorepo))[0] == 1  # refused

    code, out, _ = cli("repair", "--db", "io-db", "--root", str(monorepo))
    assert code == 0 and "would accept packages/io/migrations/009_user_plugins.sql" in out
    assert "pass --yes" in out
    assert "_migrations_history" not in str(query(path, "SELECT name FROM sqlite_master"))

    code, doc = cli_json(
        "repair",
        "--db",
        "io-db",
        "--file",
        "009_user_plugins.sql",
        "--root",
        str(monorepo),
        "--yes",
    )
    assert code == 0 and {a["target"] for a in doc["accepted"]} == {"packages/io", "packages/admin"}
    new = query(path, "SELECT checksum FROM _migrations WHERE filename = '0009_user_plugins.sql'")[
        0
    ][0]
    assert new != old and new == doc["accepted"][0]["new"]
    history = query(
        path,
        "SELECT filename, old_checksum, new_checksum, changed_by, reason FROM _migrations_history",
    )
    assert len(history) == 1
    filename, was, now, by, reason = history[0]
    assert (filename, was, now, reason) == ("0009_user_plugins.sql", old, new, "repair")
    assert by.startswith("orchestrate ")
    assert set(statuses(monorepo, "io-db")) == {"applied"}
    assert cli("apply", "--db", "io-db", "--root", str(monorepo))[0] == 0
    code, out, _ = cli("repair", "--db", "io-db", "--root", str(monorepo), "--yes")
    assert code == 0 and "nothing to accept" in out


def test_repair_file_filter_and_unknown_file(monorepo: Path) -> None:
    assert cli("apply", "--db", "agency-db", "--root", str(monorepo))[0] == 0
    for name in ("0001_clients.sql", "0002_projects.sql"):
        f = monorepo / "packages/agency/migrations" / name
        f.write_text(f.read_text() + "\n-- edited\n")
    code, doc = cli_json(
        "repair",
        "--db",
        "agency-db",
        "--file",
        "packages/agency/migrations/0002_projects.sql",
        "--root",
        str(monorepo),
        "--yes",
    )
    assert code == 0 and [a["file"] for a in doc["accepted"]] == [
        "packages/agency/migrations/0002_projects.sql"
    ]
    assert statuses(monorepo, "agency-db")[:2] == ["changed", "applied"]
    code, _, err = cli(
        "repair", "--db", "agency-db", "--file", "0099_nope.sql", "--root", str(monorepo), "--yes"
    )
    assert code == 2 and "no migration '0099_nope.sql'" in err
    assert os.path.exists(state_path(monorepo, "agency-db"))


def test_a_failing_locked_write_commits_nothing_and_frees_the_lock(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "agency-db", 2)
    settings = load_settings(monorepo)
    database = find_database(settings, None, "agency-db")

    def build(_target: Target, _state: LedgerState) -> Batch:
        return Batch((Sql("CREATE TABLE half (a)"), Sql("INSERT INTO nope VALUES (1)")))

    with pytest.raises(BatchError):
        write_locked(choose_engine(settings), database, settings, build)
    names = {r[0] for r in query(path, "SELECT name FROM sqlite_master")}
    assert "half" not in names
    assert query(path, "SELECT COUNT(*) FROM _migrations_lock") == [(0,)]
