"""Fleets against the D1 API stand-in (``tests/d1_api_server.py``, not Cloudflare):
the paginated list, requests per member, the CAS under a concurrent run, faults,
the import flow, restore by timestamp, and kill -9 then re-run."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from orchestrator.fleets import members as fleet_members
from orchestrator.fleets.service import FleetRequest, Hooks, apply_fleet
from orchestrator.settings import load_settings
from tests.apply.helpers import cli, cli_json, spawn
from tests.d1_api_server import D1ApiServer
from tests.fleets.helpers import fleet_tree


def serve(server: D1ApiServer, count: int, prefix: str = "tenant-") -> list[str]:
    return [server.create_database(f"{prefix}{n:03d}") for n in range(count)]


def ledger(server: D1ApiServer, db: str) -> list[str]:
    try:
        return [
            r[0] for r in server.execute_local(db, "SELECT filename FROM _migrations ORDER BY id")
        ]
    except sqlite3.OperationalError:
        return []


def requests_by_db(server: D1ApiServer) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for record in server.requests:
        counts[record.database_id] = counts.get(record.database_id, 0) + 1
    return counts


def test_prefix_members_through_the_paginated_list(
    tmp_path: Path, remote_env: D1ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fleet_members, "PER_PAGE", 10)
    ids = serve(remote_env, 23)
    remote_env.create_database("other-db")
    remote_env.create_database("not-tenant-1")  # the API's filter searches; only prefixes count
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    code, plan = cli_json("plan", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0 and plan["members"] == 23
    lists = [r for r in remote_env.requests if r.method == "GET" and r.database_id is None]
    assert len(lists) == 3 and all("name=tenant-" in r.path for r in lists)
    assert all(ledger(remote_env, i) == [] for i in ids)  # plan wrote nothing


def test_two_requests_per_member_with_pending_one_when_up_to_date(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 12)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    code, report = cli_json(
        "apply",
        "--fleet",
        "tenants",
        "--remote",
        "--root",
        str(root),
        "--canary",
        "2",
        "--wave",
        "5",
    )
    assert code == 0, report
    assert report["stages"] == ["canary", "wave 1", "wave 2"]
    per_db = requests_by_db(remote_env)
    assert all(per_db[i] == 2 for i in ids)
    assert report["requests"] == 1 + 2 * 12
    assert all(len(ledger(remote_env, i)) == 3 for i in ids)
    remote_env.clear_requests()
    code, again = cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0 and {m["outcome"] for m in again["members"]} == {"up-to-date"}
    assert all(requests_by_db(remote_env)[i] == 1 for i in ids)
    assert not any("bookmark" in r.path for r in remote_env.requests)


def test_ids_file_matches_names_and_ids_and_warns_about_missing_ones(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 3)
    root = fleet_tree(tmp_path / "ws", ["tenant-000", ids[1], "tenant-gone"])
    code, plan = cli_json("plan", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0 and plan["members"] == 2
    assert any("tenant-gone" in p["message"] for p in plan["problems"])


def test_concurrent_runs_never_apply_twice(tmp_path: Path, remote_env: D1ApiServer) -> None:
    ids = serve(remote_env, 10)
    remote_env.latency = 0.01
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    settings = load_settings(root)
    reports = []

    def run() -> None:
        reports.append(apply_fleet(FleetRequest(settings, "tenants", remote=True, jobs=4))[1])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(reports) and len(reports) == 2
    for i in ids:
        assert ledger(remote_env, i) == ["0001_init.sql", "0002_notes.sql", "0003_name.sql"]
        assert remote_env.execute_local(i, "SELECT count(*) FROM users") == [
            (1,)
        ]  # the seed ran once


def test_a_member_deleted_between_list_and_write_is_reported_others_go_on(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 6)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    settings = load_settings(root)

    def notify(message: str) -> None:
        if "writes to send" in message:
            remote_env.delete_database(ids[3])

    request = FleetRequest(settings, "tenants", remote=True, max_failures=1)
    _, report = apply_fleet(request, Hooks(notify=notify))
    by_id = {r.member.id: r for r in report.results}
    assert by_id[ids[3]].failed and "could not be found" in (by_id[ids[3]].error or "")
    assert all(by_id[i].outcome == "applied" for i in ids if i != ids[3])


def test_a_429_storm_is_waited_out_and_announced(tmp_path: Path, remote_env: D1ApiServer) -> None:
    ids = serve(remote_env, 4)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    remote_env.faults.http_429(retry_after=0.05, path="/query")
    for _ in range(5):
        remote_env.faults.http_429(retry_after=0.05, path="/query")
    remote_env.faults.http_429(retry_after=1.0, path="/query")
    messages: list[str] = []
    _, report = apply_fleet(
        FleetRequest(load_settings(root), "tenants", remote=True), Hooks(notify=messages.append)
    )
    assert report and all(len(ledger(remote_env, i)) == 3 for i in ids)
    # Once, with the seconds left (it was shown twice, once straight to stderr).
    waits = [m for m in messages if "waiting" in m]
    assert len(waits) == 1, messages
    assert waits[0].endswith("(read ledger): HTTP 429 (rate limited); waiting 1 s before retrying")


def test_a_drifted_member_is_not_written(tmp_path: Path, remote_env: D1ApiServer) -> None:
    ids = serve(remote_env, 3)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    assert cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))[0] == 0
    remote_env.execute_local(ids[0], "ALTER TABLE notes ADD COLUMN by_hand TEXT")
    (root / "packages/tenant-db/migrations/0004_more.sql").write_text(
        "CREATE TABLE more (id INTEGER);\n"
    )
    code, report = cli_json(
        "apply", "--fleet", "tenants", "--remote", "--root", str(root), "--max-failures", "5"
    )
    assert code == 1
    by_id = {m["id"]: m for m in report["members"]}
    assert by_id[ids[0]]["outcome"] == "drifted" and len(ledger(remote_env, ids[0])) == 3
    assert all(len(ledger(remote_env, i)) == 4 for i in ids[1:])
    code, status = cli_json("status", "--fleet", "tenants", "--remote", "--root", str(root))
    assert status["versions"] == {"0003_name": 1, "0004_more": 2}
    assert [f["id"] for f in status["failed"]] == [ids[0]]


def test_a_statement_over_100_kb_goes_through_the_import_flow(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 2)
    big = "INSERT INTO users (email) VALUES ('" + "x" * 120_000 + "');\n"
    migrations = {
        "0001_init.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
        "0002_big.sql": big,
    }
    root = fleet_tree(tmp_path / "ws", prefix="tenant-", migrations=migrations)
    code, report = cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0, report
    for i in ids:
        assert ledger(remote_env, i) == ["0001_init.sql", "0002_big.sql"]
        assert remote_env.execute_local(i, "SELECT length(email) FROM users") == [(120_000,)]
    assert any(r.path.endswith("/import") for r in remote_env.requests)
    assert any(r.method == "PUT" for r in remote_env.requests)


def test_restore_by_the_rollout_start_time_undoes_it(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 2)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    time.sleep(1.1)  # the start time has second precision
    code, report = cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0 and len(ledger(remote_env, ids[0])) == 3
    import httpx

    from tests.remote.conftest import TOKEN

    url = f"{remote_env.base_url}/accounts/{remote_env.account_id}/d1/database/{ids[0]}/time_travel/restore"
    response = httpx.post(
        url,
        params={"timestamp": report["started_at"]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    assert ledger(remote_env, ids[0]) == [] and len(ledger(remote_env, ids[1])) == 3


def test_kill_9_mid_rollout_then_rerun_ends_as_one_clean_run(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 40)
    remote_env.latency = 0.02
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    process = spawn("apply", "--fleet", "tenants", "--remote", "--root", str(root), "--jobs", "2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(bool(ledger(remote_env, i)) for i in ids) < 5:
        time.sleep(0.05)
    process.kill()
    process.wait()
    done = sum(len(ledger(remote_env, i)) == 3 for i in ids)
    assert 0 < done < 40 and all(len(ledger(remote_env, i)) in (0, 3) for i in ids)
    remote_env.latency = 0.0
    code, _, err = cli("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0, err
    for i in ids:
        assert ledger(remote_env, i) == ["0001_init.sql", "0002_notes.sql", "0003_name.sql"]
        assert remote_env.execute_local(i, "SELECT count(*) FROM users") == [(1,)]


def test_a_lost_answer_to_a_members_write_is_settled_as_applied(
    tmp_path: Path, api_server: D1ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write committed, its answer was lost: the re-read settles it with
    ``engines.guard.settle_write``. Before: the member was reported "up-to-date"."""
    from tests.fault_proxy import Fault, FaultProxy
    from tests.remote.conftest import ACCOUNT, TOKEN

    [member] = serve(api_server, 1)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    with FaultProxy(api_server.base_url) as proxy:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", proxy.base_url)
        proxy.add(Fault.drop_after(body_contains="CREATE TABLE notes"))
        code, report = cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0, report
    [result] = report["members"]
    assert result["outcome"] == "applied" and len(ledger(api_server, member)) == 3
