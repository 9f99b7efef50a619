"""The fleet page of a remote fleet, read through the D1 API stand-in
(``tests/d1_api_server.py``, not Cloudflare): the account, the drifted member, the
last rollout and the undo command; and the API token never on the page."""

from __future__ import annotations

from pathlib import Path

from tests.apply.helpers import cli, cli_json
from tests.d1_api_server import D1ApiServer
from tests.dashboard.test_fleet_page import members, text_of
from tests.fleets.helpers import fleet_tree
from tests.remote.conftest import ACCOUNT, TOKEN


def test_remote_fleet_page(tmp_path: Path, remote_env: D1ApiServer) -> None:
    ids = [remote_env.create_database(f"tenant-{n:03d}") for n in range(3)]
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    code, report = cli_json("apply", "--fleet", "tenants", "--remote", "--root", str(root))
    assert code == 0, report
    remote_env.execute_local(ids[1], "ALTER TABLE notes ADD COLUMN by_hand TEXT")
    args = ("status", "--fleet", "tenants", "--remote", "--root", str(root), "--format", "html")
    code, page, err = cli(*args)
    assert code == 0, err
    text = text_of(page)
    assert f"account {ACCOUNT}" in text and "target remote" in text
    assert "3 members 0 failed 1 drifted 0 pending 2 up to date" in text
    assert [r["data-level"] for r in members(page)] == ["warn"] and ids[1] in page
    assert f'datetime="{report["started_at"]}"' in page
    assert "<pre><code>orchestrate undo --fleet tenants --remote</code></pre>" in page
    assert TOKEN not in page
