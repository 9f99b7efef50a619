"""``--fleet`` on local D1 state: members named in ids_file are the state files
``wrangler dev`` uses for those database ids, under the migrations' package."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.engines.localstate import STATE_DIR, durable_object_hex
from tests.apply.helpers import cli, cli_json
from tests.conftest import WRANGLER, toml_binding, wrangler_rows
from tests.fleets.helpers import fleet_tree

MEMBERS = ["tenant-a", "tenant-b", "tenant-internal", "tenant-c"]


def state(root: Path, member: str) -> Path:
    return (
        root
        / "packages/tenant-db/.wrangler/state"
        / STATE_DIR
        / f"{durable_object_hex(member)}.sqlite"
    )


def test_plan_apply_status_locally(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, MEMBERS, canary=["tenant-internal"])
    code, plan = cli_json("plan", "--fleet", "tenants", "--root", str(root))
    assert code == 0 and plan["members"] == 4 and plan["versions"] == {"none": 4}
    assert list(plan["pending"].values()) == [4, 4, 4]
    assert not state(root, "tenant-a").exists()  # plan is read-only
    code, report = cli_json("apply", "--fleet", "tenants", "--root", str(root), "--wave", "50%")
    assert code == 0, report
    assert report["stages"] == ["canary", "wave 1", "wave 2"]
    assert report["members"][0]["name"] == "tenant-internal"
    assert {m["outcome"] for m in report["members"]} == {"applied"}
    assert all(m["requests"] == 2 for m in report["members"])
    for member in MEMBERS:
        conn = sqlite3.connect(state(root, member))
        assert conn.execute("SELECT count(*) FROM _migrations").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
    code, again = cli_json("apply", "--fleet", "tenants", "--root", str(root))
    assert code == 0 and {m["outcome"] for m in again["members"]} == {"up-to-date"}
    assert all(m["requests"] == 1 for m in again["members"])
    code, status = cli_json("status", "--fleet", "tenants", "--root", str(root))
    assert status["versions"] == {"0003_name": 4} and status["failed"] == []
    assert status["last_rollout_started_at"] == report["started_at"]


def test_name_prefix_needs_the_api(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, prefix="tenant-")
    code, _, err = cli("plan", "--fleet", "tenants", "--root", str(root))
    assert code == 2 and "name_prefix" in err and "--remote" in err


@pytest.mark.parametrize("command", ["plan", "apply", "status", "history", "undo"])
def test_a_fleet_refuses_the_wrangler_engine(tmp_path: Path, command: str) -> None:
    # A fleet always talks to the API directly: --engine wrangler was silently ignored.
    root = fleet_tree(tmp_path / "ws", members=MEMBERS)
    code, _, err = cli(command, "--fleet", "tenants", "--engine", "wrangler", "--root", str(root))
    assert code == 2 and "--engine wrangler does not drive a fleet" in err


def test_unknown_fleet_is_a_usage_error(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, MEMBERS)
    code, _, err = cli("apply", "--fleet", "nope", "--root", str(root))
    assert code == 2 and "no fleet named 'nope'" in err and "tenants" in err


def test_a_failing_canary_stops_the_rollout_and_leaves_members_untouched(tmp_path: Path) -> None:
    migrations = {
        "0001_init.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
        "0002_bad.sql": "CREATE TABLE extra (id INTEGER);\nINSERT INTO missing_table VALUES (1);\n",
    }
    root = fleet_tree(tmp_path, MEMBERS, canary=["tenant-internal"], migrations=migrations)
    code, report = cli_json("apply", "--fleet", "tenants", "--root", str(root), "--wave", "1")
    assert code == 1
    by_name = {m["name"]: m for m in report["members"]}
    assert by_name["tenant-internal"]["outcome"] == "failed"
    assert "0002_bad.sql:2" in by_name["tenant-internal"]["error"]
    assert {by_name[n]["outcome"] for n in MEMBERS if n != "tenant-internal"} == {"skipped"}
    assert report["stopped"] and "--max-failures 0" in report["stopped"]
    conn = sqlite3.connect(state(root, "tenant-internal"))
    assert conn.execute("SELECT count(*) FROM _migrations").fetchone() == (0,)  # all or nothing
    assert (
        conn.execute("SELECT name FROM sqlite_master WHERE name IN ('users', 'extra')").fetchall()
        == []
    )
    assert not state(root, "tenant-a").exists() or sqlite3.connect(state(root, "tenant-a")).execute(
        "SELECT count(*) FROM _migrations"
    ).fetchone() == (0,)
    code, out, _ = cli("apply", "--fleet", "tenants", "--root", str(root), "--wave", "1")
    assert code == 1 and "next: fix the cause" in out
    code, status = cli_json("status", "--fleet", "tenants", "--root", str(root))
    assert [f["name"] for f in status["failed"]] == ["tenant-internal"]


def test_max_failures_lets_the_others_go_on_and_drift_is_reported(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, MEMBERS)
    code, _ = cli_json("apply", "--fleet", "tenants", "--root", str(root))
    assert code == 0
    # A column added by hand on one member.
    conn = sqlite3.connect(state(root, "tenant-b"))
    conn.execute("ALTER TABLE users ADD COLUMN by_hand TEXT")
    conn.commit()
    conn.close()
    (root / "packages/tenant-db/migrations/0004_more.sql").write_text(
        "CREATE TABLE more (id INTEGER);\n"
    )
    code, report = cli_json(
        "apply", "--fleet", "tenants", "--root", str(root), "--max-failures", "1"
    )
    assert code == 1
    by_name = {m["name"]: m for m in report["members"]}
    assert by_name["tenant-b"]["outcome"] == "drifted"
    assert "by_hand" in by_name["tenant-b"]["error"]
    assert {by_name[n]["outcome"] for n in MEMBERS if n != "tenant-b"} == {"applied"}
    assert report["stopped"] is None
    code, status = cli_json("status", "--fleet", "tenants", "--root", str(root))
    assert status["versions"] == {"0003_name": 1, "0004_more": 3}
    assert [f["name"] for f in status["failed"]] == ["tenant-b"]
    code, text, _ = cli("status", "--fleet", "tenants", "--root", str(root), "--format", "markdown")
    assert "| tenant-b | drifted |" in text
    code, page, _ = cli("status", "--fleet", "tenants", "--root", str(root), "--format", "html")
    assert page.startswith("<!doctype html>") and "tenant-b" in page


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, MEMBERS)
    code, report = cli_json("apply", "--fleet", "tenants", "--root", str(root), "--dry-run")
    assert (
        code == 0 and report["dry_run"] and {m["outcome"] for m in report["members"]} == {"planned"}
    )
    assert not any(state(root, m).exists() for m in MEMBERS)


@pytest.mark.parametrize("shards", [2, 3])
def test_shards_cover_the_fleet_once(tmp_path: Path, shards: int) -> None:
    root = fleet_tree(tmp_path, [f"tenant-{n}" for n in range(12)])
    seen: list[str] = []
    for index in range(1, shards + 1):
        code, report = cli_json(
            "apply", "--fleet", "tenants", "--root", str(root), "--shard", f"{index}/{shards}"
        )
        assert code == 0
        seen += [m["name"] for m in report["members"]]
    assert sorted(seen) == sorted(f"tenant-{n}" for n in range(12))


@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
def test_wrangler_sees_a_member_as_up_to_date(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, ["tenant-a"])
    (root / "packages/tenant-db/wrangler.toml").write_text(toml_binding("tenant-a", "tenant-a"))
    code, _ = cli_json("apply", "--fleet", "tenants", "--root", str(root))
    assert code == 0
    rows = wrangler_rows(
        root / "packages/tenant-db", "tenant-a", "SELECT name FROM d1_migrations ORDER BY id"
    )
    assert [r["name"] for r in rows] == ["0001_init.sql", "0002_notes.sql", "0003_name.sql"]


def test_text_output_prints_names_as_written_and_no_markup(tmp_path: Path) -> None:
    # The console never reads markup: "[bold]" in a name prints as written, and the
    # fleet's own styling is not shown as literal "[red]…[/]" tags.
    members = ["tenant-ok", "tenant-[bold]x"]
    root = fleet_tree(tmp_path, members)
    code, out, _ = cli("plan", "--fleet", "tenants", "--root", str(root))
    assert code == 0 and out.startswith("fleet tenants: 2 members")
    hand = state(root, "tenant-[bold]x")
    hand.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(hand).execute("CREATE TABLE by_hand (x)").connection.commit()
    code, out, err = cli("apply", "--fleet", "tenants", "--root", str(root), "--max-failures", "1")
    assert code == 1
    assert "drifted tenant-[bold]x: drifted before the write" in out
    assert "[/]" not in out + err and "\\[" not in out + err
    code, out, _ = cli("status", "--fleet", "tenants", "--root", str(root))
    assert "drifted tenant-[bold]x:" in out and "[/]" not in out


def test_history_lists_local_rollouts_without_an_undo_command(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, MEMBERS)
    code, report = cli_json("apply", "--fleet", "tenants", "--root", str(root))
    assert code == 0
    code, history = cli_json("history", "--fleet", "tenants", "--root", str(root))
    assert code == 0
    assert history["rollouts"] == [{"started_at": report["started_at"], "members": 4}]
    assert history["undo_command"] is None  # local D1 has no Time Travel
    code, out, _ = cli("history", "--fleet", "tenants", "--root", str(root))
    assert code == 0 and report["started_at"] in out and "orchestrate undo" not in out
    code, _, err = cli("history", "--root", str(root))
    assert code == 2 and "name the database with --db NAME" in err
