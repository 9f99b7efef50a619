"""`status --fleet NAME --format html` without a browser: counters, the capped list of
failed and drifted members (failed first), bars per version, times, the undo command,
escaping. (tests/dashboard/test_fleet_page_browser.py looks at it in headless Chromium.)"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

from orchestrator.reporting.fleet_page import SHOWN
from tests.apply.helpers import cli, cli_json
from tests.dashboard.fleets import HOSTILE_ERROR, HOSTILE_MEMBER, fleet_page
from tests.dashboard.test_page import parse
from tests.dashboard.test_status import check_snapshot
from tests.fleets.helpers import fleet_tree
from tests.fleets.test_local import state


def text_of(page: str) -> str:
    return " ".join(" ".join(parse(page).text).split())


def members(page: str) -> list[dict[str, str | None]]:
    return [a for tag, a in parse(page).tags if tag == "li" and a.get("data-level")]


def test_counters_count_each_member_once_in_its_worst_state() -> None:
    text = text_of(fleet_page())
    assert "2,000 members 70 failed 12 drifted 68 pending 1,850 up to date" in text
    assert "70 failed and 12 drifted of 2,000 members; first: tenant-00000" in text


def test_two_thousand_members_are_bars_and_a_capped_list_failed_first() -> None:
    page = fleet_page()
    assert page.count('<li class="version') == 2  # one bar per version, not a row per member
    rows = members(page)
    assert len(rows) == SHOWN and {r["data-level"] for r in rows} == {"danger"}
    assert (
        "and 32 more (20 failed, 12 drifted): orchestrate status --fleet tenants --remote --format json lists them all"
        in text_of(page)
    )
    assert "tenant-01999" not in page
    # fewer than the cap: every one listed, the failed before the drifted
    few = members(fleet_page(members=40, failed=3, drifted=2, behind=10))
    assert [r["data-level"] for r in few] == ["danger"] * 3 + ["warn"] * 2


def test_each_bar_is_split_by_state_and_sized_by_its_count() -> None:
    page = fleet_page()
    bars = re.findall(r'<span class="bar" style="width:([^"]+)">(.*?)</span></span>', page)
    assert [width for width, _ in bars] == ["8.11%", "100%"]  # 150 and 1,850 of 1,850
    behind = re.findall(r'class="seg (\w+)" style="width:([^"]+)" title="([^"]+)"', bars[0][1])
    assert behind == [
        ("danger", "46.7%", "70 failed"),
        ("warn", "8%", "12 drifted"),
        ("ready", "45.3%", "68 pending"),
    ]
    assert "150 · 70 failed · 12 drifted · 68 pending" in text_of(page)
    assert '<li class="version current"><span class="v"><code>0003_name</code> (newest)' in page


def test_header_says_when_for_which_account_and_commit() -> None:
    text = text_of(fleet_page())
    assert "generated just now (2027-01-15 08:00:00 UTC)" in text
    assert "target remote" in text and "account acc-1234" in text
    assert "commit 0123456789ab" in text and "environment none" in text


def test_last_rollout_is_relative_with_the_exact_time_and_the_undo_is_copyable() -> None:
    page = fleet_page()
    assert (
        '<time class="ago" datetime="2027-01-15T05:00:00Z" title="2027-01-15 05:00:00 UTC">3 h ago</time>'
        in page
    )
    assert "it stopped: 70 failed or drifted after the canary" in page
    assert "<pre><code>orchestrate undo --fleet tenants --remote</code></pre>" in page
    local = fleet_page(remote=False)
    assert "orchestrate undo" not in local and "local state has no undo" in local


def test_hostile_member_names_and_errors_stay_text() -> None:
    page = fleet_page(first_failed=HOSTILE_MEMBER)
    assert "<script>document" not in page and "<img" not in page
    assert [tag for tag, _ in parse(page).tags].count("script") == 1  # the page's own
    assert "{{ 7*7 }}" in page and "{% raw %}" in page  # template syntax is not evaluated
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", page)  # controls shown as \xNN
    text = "".join(parse(page).text)
    assert "</script>{{ 7*7 }}\\x1b[31m\\x00\"q'" in text
    assert HOSTILE_ERROR.replace("\x07", "\\x07") in text


def test_dashboard_page_shows_control_characters_too() -> None:
    from orchestrator.reporting.page import render_status_page
    from tests.dashboard.boards import sample_board

    page = render_status_page(sample_board(first_name="db\x1b[2Jx"))
    assert "\x1b" not in page and "db\\x1b[2Jx" in page


def test_fleet_page_snapshot() -> None:
    page = fleet_page(members=30, failed=3, drifted=2, behind=10, first_failed=HOSTILE_MEMBER)
    # The fleet's own part: the shared head and style are in the dashboard's snapshots.
    main = page[page.index("<main>") : page.index("</main>") + len("</main>")]
    check_snapshot("fleet-status.html", main + "\n")


def test_templates_share_the_dashboard_layout() -> None:
    folder = resources.files("orchestrator.reporting") / "templates"
    for name in ("status.html.j2", "fleet.html.j2"):
        source = (folder / name).read_text()
        assert '{% extends "base.html.j2" %}' in source and "<style>" not in source
    assert "<!doctype html>" in (folder / "base.html.j2").read_text()


def test_cli_page_of_a_local_fleet_with_a_drifted_member(tmp_path: Path) -> None:
    root = fleet_tree(tmp_path, ["tenant-a", "tenant-b", "tenant-c"])
    assert cli_json("apply", "--fleet", "tenants", "--root", str(root))[0] == 0
    conn = sqlite3.connect(state(root, "tenant-b"))
    conn.execute("ALTER TABLE users ADD COLUMN by_hand TEXT")
    conn.commit()
    conn.close()
    code, page, err = cli("status", "--fleet", "tenants", "--root", str(root), "--format", "html")
    assert code == 0, err
    rows = members(page)
    assert [r["data-level"] for r in rows] == ["warn"] and "tenant-b" in page
    text = text_of(page)
    assert "3 members 0 failed 1 drifted 0 pending 2 up to date" in text
    assert "target local" in text and "account local state" in text
