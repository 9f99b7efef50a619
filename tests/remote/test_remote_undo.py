"""``undo --fleet`` and ``history --fleet`` against the D1 API stand-in
(``tests/d1_api_server.py``, which stands in for Cloudflare: its Time Travel keeps a
snapshot per version and restores by timestamp)."""

from __future__ import annotations

import time
from pathlib import Path

from orchestrator.fleets.service import FleetRequest
from orchestrator.fleets.undo import plan_undo, run_undo
from orchestrator.settings import load_settings
from tests.apply.helpers import cli, cli_json
from tests.d1_api_server import D1ApiServer
from tests.fleets.helpers import MIGRATIONS, fleet_tree
from tests.remote.test_remote_fleet import ledger, serve


def restores(server: D1ApiServer) -> list[str | None]:
    return [r.database_id for r in server.requests if r.path.split("?")[0].endswith("/restore")]


def roll_out(root: Path) -> dict[str, object]:
    time.sleep(1.1)  # start times have second precision: the rollout starts after the setup
    code, report = cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0, report
    return report


def test_undo_restores_exactly_the_members_the_rollout_wrote(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    written = serve(remote_env, 4)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    report = roll_out(root)
    later = serve(remote_env, 2, prefix="tenant-late-")  # joined after it: never written
    assert all(len(ledger(remote_env, i)) == 3 for i in written)
    remote_env.clear_requests()

    code, undone = cli_json("undo", "--fleet", "tenants", "--remote", "--root", str(root))

    assert code == 0, undone
    assert undone["timestamp"] == report["started_at"]
    assert sorted(undone["restored"]) == [f"tenant-{n:03d}" for n in range(4)]
    assert undone["untouched"] == 2 and undone["failed"] == []
    assert sorted(restores(remote_env)) == sorted(written)  # one restore each, none for `later`
    assert all(ledger(remote_env, i) == [] for i in written)  # back to before the rollout
    tables = remote_env.execute_local(
        written[0], "SELECT name FROM sqlite_master WHERE name = 'users'"
    )
    assert tables == []
    assert all(i not in restores(remote_env) for i in later)
    # the next apply rolls the fleet out again, from the restored state
    code, _ = cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0 and all(len(ledger(remote_env, i)) == 3 for i in written + later)


def test_a_dry_run_lists_the_members_and_sends_no_restore(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 3)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    roll_out(root)
    remote_env.clear_requests()
    code, out, _ = cli("undo", "--fleet", "tenants", "--remote", "--root", str(root), "--dry-run")
    assert code == 0, out
    assert "would restore 3 members to" in out and "tenant-002" in out
    assert restores(remote_env) == []
    assert all(len(ledger(remote_env, i)) == 3 for i in ids)
    assert all(r.method == "GET" or r.path.endswith("/query") for r in remote_env.requests)


def test_an_older_rollout_is_undone_by_its_start_time(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 2)
    first_two = {k: v for k, v in MIGRATIONS.items() if not k.startswith("0003")}
    root = fleet_tree(tmp_path / "ws", prefix="tenant-", migrations=first_two)
    first = roll_out(root)
    (root / "packages/tenant-db/migrations/0003_name.sql").write_text(MIGRATIONS["0003_name.sql"])
    second = roll_out(root)
    assert all(len(ledger(remote_env, i)) == 3 for i in ids)

    code, history = cli_json("history", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0, history
    assert history["rollouts"] == [
        {"started_at": second["started_at"], "members": 2},
        {"started_at": first["started_at"], "members": 2},
    ]
    assert history["undo_command"] == "orchestrate undo --fleet tenants --remote"

    # the last rollout only: the members keep the first rollout's two migrations
    code, undone = cli_json("undo", "--fleet", "tenants", "--remote", "--root", str(root), "-y")
    assert code == 0 and undone["timestamp"] == second["started_at"]
    assert all(len(ledger(remote_env, i)) == 2 for i in ids)
    # then the first, named by its start time as history prints it
    code, undone = cli_json(
        "undo", "--fleet", "tenants", "--remote", "--root", str(root),
        "--rollout", str(first["started_at"]),
    )  # fmt: skip
    assert code == 0 and sorted(undone["restored"]) == ["tenant-000", "tenant-001"]
    assert all(ledger(remote_env, i) == [] for i in ids)


def test_a_member_deleted_before_its_restore_is_reported_and_the_others_go_on(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 3)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    roll_out(root)
    request = FleetRequest(load_settings(root), "tenants", remote=True)
    plan = plan_undo(request)
    remote_env.delete_database(ids[1])  # gone between the read and its restore
    report = run_undo(plan)
    assert not report
    assert [r.member.name for r in report.failed] == ["tenant-001"]
    assert "tenant-001 (restore)" in (report.failed[0].error or "")
    assert ledger(remote_env, ids[0]) == [] and ledger(remote_env, ids[2]) == []


def test_undoing_twice_is_harmless(tmp_path: Path, remote_env: D1ApiServer) -> None:
    ids = serve(remote_env, 2)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    report = roll_out(root)
    stamp = str(report["started_at"])
    for _ in range(2):  # an interrupted undo is simply run again
        code, undone = cli_json(
            "undo", "--fleet", "tenants", "--remote", "--root", str(root), "--rollout", stamp
        )
        assert code == 0 and undone["failed"] == []
    assert all(ledger(remote_env, i) == [] for i in ids)


def test_nothing_to_undo_is_one_line(tmp_path: Path, remote_env: D1ApiServer) -> None:
    serve(remote_env, 2)
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    code, out, err = cli("undo", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 2 and restores(remote_env) == []
    assert "no rollout of fleet 'tenants' wrote any member" in err
    assert "Traceback" not in out + err


def test_undo_refuses_locally_and_a_bad_rollout_time(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path / "ws", members=["a"])
    code, _, err = cli("undo", "--fleet", "tenants", "--root", str(root))
    assert code == 2 and "local D1 has no Time Travel" in err
    code, _, err = cli(
        "undo", "--fleet", "tenants", "--remote", "--root", str(root), "--rollout", "yesterday"
    )
    assert code == 2 and "--rollout 'yesterday' is not a rollout start time" in err
    code, _, err = cli("undo", "--root", str(root))
    assert code == 2 and "undo takes a database or a fleet" in err


def test_a_rollout_with_failures_names_the_undo_command(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    ids = serve(remote_env, 3)
    first_two = {k: v for k, v in MIGRATIONS.items() if not k.startswith("0003")}
    root = fleet_tree(tmp_path / "ws", prefix="tenant-", migrations=first_two)
    roll_out(root)
    remote_env.execute_local(ids[2], "ALTER TABLE notes ADD COLUMN by_hand TEXT")  # drift
    (root / "packages/tenant-db/migrations/0003_name.sql").write_text(MIGRATIONS["0003_name.sql"])
    args = ("apply", "--fleet", "tenants", "--remote", "--root", str(root), "--max-failures", "1")
    code, out, _ = cli(*args)
    assert code == 1 and "drifted" in out
    assert "orchestrate undo --fleet tenants --remote" in out
