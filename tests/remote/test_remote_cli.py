"""`orchestrate apply --all --remote` of fixtures/monorepo against the D1 API
stand-in (tests/d1_api_server.py, a local stand-in for Cloudflare), then the
proofs: `plan --remote` has nothing pending, real wrangler pointed at the same
server (CLOUDFLARE_API_BASE_URL) has nothing to apply, `history` shows the
release, and the printed Time Travel command really undoes it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.apply.helpers import cli, cli_json
from tests.conftest import wrangler_path
from tests.d1_api_server import D1ApiServer

WRANGLER = wrangler_path()
DATABASES = {  # the fixture's remote databases: name -> (id, owning package, migrations)
    "agency-db": ("632b6dc1-793e-4eca-a76e-945c14dd6383", "agency", 6),
    "create-something-db": ("028a5b6b-5698-4e6a-826a-fc9a2aad0fd5", "space", 15),
    "io-db": ("5795e779-22cb-461b-9a76-4b28f7e2bc1c", "io", 12),
    "learn-db": ("7afe21cf-8ff9-474e-b6f1-8024dab69906", "lms", 11),
    "templates-platform-db": ("56aafbc4-e31f-4e0b-acb5-dc6bf0887018", "templates-platform", 12),
}


@pytest.fixture
def applied(monorepo: Path, remote_env: D1ApiServer) -> dict[str, Any]:
    """The fixture monorepo applied remotely; returns apply's JSON summary."""
    for name, (db_id, _, _) in DATABASES.items():
        remote_env.create_database(name, db_id)
    code, summary = cli_json("apply", "--all", "--remote", "--root", str(monorepo))
    # dashboard-db has no database_id and its name is unknown to the API (never created
    # remotely): looked up by name as wrangler >= 4.102 does, skipped, so the run fails.
    assert code == 1
    return summary


def test_apply_all_remote_applies_each_database_once_with_its_restore_time(
    applied: dict[str, Any], remote_env: D1ApiServer
) -> None:
    results = {d["name"]: d for d in applied["databases"]}
    assert applied["target"] == "remote"
    for name, (db_id, _, count) in DATABASES.items():
        result = results[name]
        assert (result["status"], len(result["applied"])) == ("ok", count)
        # One write per database: no bookmark request; the undo restores by the time
        # the run began writing (RFC 3339, as `--timestamp` takes it).
        bookmark = result["bookmark"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bookmark)
        assert result["restore_command"] == (
            f"wrangler d1 time-travel restore {name} --timestamp={bookmark}"
        )
        rows = remote_env.execute_local(db_id, "SELECT filename, bookmark FROM _migrations")
        assert len(rows) == count and {r[1] for r in rows} == {bookmark}
    dashboard = results["dashboard-db"]
    assert dashboard["status"] == "skipped"
    assert dashboard["file"] == "packages/legacy-dashboard/wrangler.toml"
    assert "no D1 database named 'dashboard-db'" in dashboard["error"]
    assert "wrangler d1 create dashboard-db" in dashboard["error"]


def test_a_database_bound_by_two_packages_is_applied_once(
    applied: dict[str, Any], remote_env: D1ApiServer
) -> None:
    io_id = DATABASES["io-db"][0]
    inserts = [
        r
        for r in remote_env.requests
        if r.database_id == io_id and r.sql and "CREATE TABLE IF NOT EXISTS accounts" in r.sql
    ]
    assert len(inserts) == 1


def test_plan_remote_then_shows_nothing_pending(applied: dict[str, Any], monorepo: Path) -> None:
    code, plan = cli_json("plan", "--remote", "--root", str(monorepo))
    assert code == 1  # dashboard-db's missing id is an error problem
    pending = {d["name"]: d["pending"] for d in plan["databases"]}
    assert all(pending[name] == 0 for name in DATABASES)
    assert plan["target"] == "remote"
    problems = [p for p in plan["problems"] if p["database"] == "dashboard-db"]
    assert [p["severity"] for p in problems] == ["error"]


def test_history_remote_shows_the_release(applied: dict[str, Any], monorepo: Path) -> None:
    code, history = cli_json(
        "history", "--db", "io-db", "--remote", "--limit", "3", "--root", str(monorepo)
    )
    assert code == 0
    [target] = history["targets"]
    rows = target["rows"]
    assert [r["name"] for r in rows] == [
        "0012_audit_log.sql",
        "0011_user_plugin_indexes.sql",
        "0010_plugin_settings.sql",
    ]
    bookmark = next(d for d in applied["databases"] if d["name"] == "io-db")["bookmark"]
    assert all(r["checksum"] == "ok" and r["bookmark"] == bookmark for r in rows)
    assert rows[0]["file"] == "packages/io/migrations/012_audit_log.sql"
    code, out, _ = cli("history", "--db", "io-db", "--remote", "--root", str(monorepo))
    assert code == 0 and f"R1: wrangler d1 time-travel restore io-db --timestamp={bookmark}" in out


def test_the_summary_prints_whole_undo_commands(monorepo: Path, remote_env: D1ApiServer) -> None:
    remote_env.create_database("agency-db", DATABASES["agency-db"][0])
    code, out, _ = cli("apply", "--db", "agency-db", "--remote", "--root", str(monorepo))
    assert code == 0
    [line] = [x for x in out.splitlines() if "time-travel restore" in x]
    assert line.strip().startswith("wrangler d1 time-travel restore agency-db --timestamp=")


def test_batch_per_migration_takes_a_bookmark_and_commits_each_on_its_own(
    monorepo: Path, remote_env: D1ApiServer
) -> None:
    db_id = DATABASES["agency-db"][0]
    remote_env.create_database("agency-db", db_id)
    code, summary = cli_json(
        "apply",
        "--db",
        "agency-db",
        "--remote",
        "--batch",
        "per-migration",
        "--root",
        str(monorepo),
    )
    assert code == 0, summary
    [result] = summary["databases"]
    assert result["restore_command"].endswith(f"--bookmark={result['bookmark']}")
    writes = [
        r
        for r in remote_env.requests
        if r.database_id == db_id and r.sql and 'INSERT INTO "_migrations"' in r.sql
    ]
    assert len(writes) == len(result["applied"]) > 1


def test_batch_takes_only_its_two_names(monorepo: Path) -> None:
    code, out, err = cli("apply", "--all", "--remote", "--batch", "each", "--root", str(monorepo))
    assert code == 2 and "--batch takes 'database' or 'per-migration'" in out + err


def wrangler(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert WRANGLER is not None
    return subprocess.run(
        [WRANGLER, *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(DATABASES))
@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
def test_real_wrangler_remote_has_nothing_to_apply(
    applied: dict[str, Any], monorepo: Path, name: str
) -> None:
    package = monorepo / "packages" / DATABASES[name][1]
    listed = wrangler(package, "d1", "migrations", "list", name, "--remote")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "No migrations to apply" in listed.stdout


@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
def test_the_printed_restore_command_undoes_the_release(
    applied: dict[str, Any], monorepo: Path, remote_env: D1ApiServer
) -> None:
    assert WRANGLER is not None
    result = next(d for d in applied["databases"] if d["name"] == "learn-db")
    argv = shlex.split(result["restore_command"])
    assert argv[0] == "wrangler"
    restored = wrangler(monorepo, *argv[1:], "--json")  # from the root, as printed
    assert restored.returncode == 0, restored.stdout + restored.stderr
    db_id = DATABASES["learn-db"][0]
    assert remote_env.execute_local(db_id, "SELECT name FROM sqlite_master") == []
    _, plan = cli_json("plan", "--remote", "--root", str(monorepo))
    pending = {d["name"]: d["pending"] for d in plan["databases"]}
    assert pending["learn-db"] == 11 and pending["io-db"] == 0


def test_unlock_and_dry_run_work_remotely(
    applied: dict[str, Any], monorepo: Path, remote_env: D1ApiServer
) -> None:
    io_id = DATABASES["io-db"][0]
    remote_env.execute_local(
        io_id,
        "INSERT INTO _migrations_lock (id, owner, host, pid, acquired_at, expires_at) "
        "VALUES (1, 'someone', 'elsewhere', 1, '2026-01-01 00:00:00', 9e18)",
    )
    code, out, _ = cli("unlock", "--db", "io-db", "--remote", "--root", str(monorepo))
    assert code == 0 and "io-db (remote): unlocked" in out
    assert remote_env.execute_local(io_id, "SELECT COUNT(*) FROM _migrations_lock") == [(0,)]
    (monorepo / "packages/io/migrations/013_more.sql").write_text("CREATE TABLE more (a);\n")
    before = remote_env.version(io_id)
    code, out, _ = cli("apply", "--db", "io-db", "--remote", "--dry-run", "--root", str(monorepo))
    assert code == 0 and "CREATE TABLE more (a);" in out
    assert remote_env.version(io_id) == before  # nothing written
