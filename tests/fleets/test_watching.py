"""What a person watching ``apply --fleet --remote`` sees: the estimate before the first
write, the progress bar (members done, failed, rate, ETA), and every wait announced once
with the seconds left. Against the D1 API stand-in (``tests/d1_api_server.py``, which
stands in for Cloudflare; it is not Cloudflare). No timing is asserted: the request
budget's clock is a fake one that moves only when the client sleeps."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from orchestrator.cli.fleet import progress
from orchestrator.engines.ratelimit import RateBudget
from orchestrator.fleets import service
from orchestrator.fleets.model import Member, MemberResult, Outcome
from orchestrator.fleets.service import FleetRequest, Hooks, apply_fleet
from orchestrator.settings import load_settings
from tests.apply.helpers import cli
from tests.d1_api_server import D1ApiServer
from tests.fleets.helpers import fleet_tree

TOKEN = "watch-token-0123"
ACCOUNT = "watch-account"
WRITE_MARK = '"_migrations_cas" (expected, actual)'  # the guard every write starts with


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[D1ApiServer]:
    with D1ApiServer(tmp_path / "api", token=TOKEN, account_id=ACCOUNT) as srv:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", srv.base_url)
        for n in range(3):
            srv.create_database(f"tenant-{n:03d}")
        yield srv


class FakeClock:
    """Time that passes only when someone sleeps (the budget waits without waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()

    def budget(limit: int, window: float) -> RateBudget:
        return RateBudget(limit, window, clock=fake.monotonic, sleep=fake.sleep)

    monkeypatch.setattr(service, "RateBudget", budget)
    return fake


def shown(err: str) -> list[str]:
    """stderr's lines, without ``--debug`` logging an earlier test in this process left on."""
    return [line for line in err.strip().splitlines() if not line.startswith("debug: ")]


def writes_sent(server: D1ApiServer) -> int:
    return sum(1 for r in server.requests if WRITE_MARK in (r.sql or ""))


def test_the_estimate_comes_before_the_first_write(tmp_path: Path, server: D1ApiServer) -> None:
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    seen: list[tuple[str, int]] = []
    _, report = apply_fleet(
        FleetRequest(load_settings(root), "tenants", remote=True),
        Hooks(notify=lambda m: seen.append((m, writes_sent(server)))),
    )
    assert report
    # A list, 3 reads and 3 writes: within the budget's first window, so no wait.
    assert seen == [
        ("3 members, about 7 requests, no wait at 1,200 requests per 5 min (3 writes to send)", 0)
    ]
    assert writes_sent(server) == 3


def test_the_cli_prints_the_estimate_and_the_budget_wait_with_its_seconds(
    tmp_path: Path, server: D1ApiServer, clock: FakeClock
) -> None:
    extra = "[remote]\nrequests_per_5min = 4\n\n"
    root = fleet_tree(tmp_path / "ws", prefix="tenant-", extra=extra)
    code, out, err = cli("apply", "--fleet", "tenants", "--remote", "-y", "--root", str(root))
    assert code == 0, err
    assert "fleet tenants: 3 applied; 7 requests" in out
    lines = shown(err)
    # The list and 3 reads spend the 4 requests; the estimate says the rest waits a window.
    assert lines[0] == (
        "3 members, about 7 requests, about 5 min at 4 requests per 5 min (3 writes to send)"
    )
    waits = lines[1:]
    assert waits and all(
        re.fullmatch(r"waiting \d+ s for the request budget \(4 requests per 300 s per token\)", w)
        for w in waits
    ), waits
    assert "waiting 300 s for the request budget (4 requests per 300 s per token)" in waits
    assert len(waits) == len([s for s in clock.slept if s >= 1])  # each wait said once


def test_a_retry_after_wait_is_shown_once_with_its_seconds(
    tmp_path: Path, server: D1ApiServer
) -> None:
    root = fleet_tree(tmp_path / "ws", prefix="tenant-")
    server.faults.http_429(retry_after=1.0, path="/query")
    code, _, err = cli("apply", "--fleet", "tenants", "--remote", "-y", "--root", str(root))
    assert code == 0, err
    waits = [line for line in shown(err) if "waiting" in line]
    assert len(waits) == 1, err
    assert re.fullmatch(
        r"tenant-\d{3} \(read ledger\): HTTP 429 \(rate limited\); waiting 1 s before retrying",
        waits[0],
    )


def result(n: int, outcome: Outcome, error: str | None = None) -> MemberResult:
    return MemberResult(Member(f"id-{n}", f"tenant-{n}"), outcome, "0003_name", error=error)


def test_the_progress_bar_shows_done_failed_rate_and_eta() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with progress(console) as watch:
        hooks = watch.hooks
        hooks.on_start(4)
        hooks.on_result(result(0, Outcome.APPLIED))
        hooks.on_result(result(1, Outcome.DRIFTED, "schema after the write differs"))
        hooks.notify("waiting 12 s for the request budget (1,200 requests per 300 s per token)")
        hooks.on_result(result(2, Outcome.UP_TO_DATE))
    shown = out.getvalue()
    last = shown.rsplit("\r", 1)[-1]  # the bar as it was left
    found = re.search(
        r"members .* 3/4 1 failed (\d+(\.\d)?) members/s (\d+:\d\d:\d\d|-:--:--)", last
    )
    assert found, repr(last)
    assert "waiting 12 s for the request budget (1,200 requests per 300 s per token)\n" in shown


def test_without_a_terminal_only_failures_and_waits_are_printed() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    with progress(console) as watch:
        hooks = watch.hooks
        hooks.on_start(3)
        hooks.on_result(result(0, Outcome.APPLIED))
        hooks.on_result(result(1, Outcome.FAILED, "t.sql:2: no such table: [x]"))
        hooks.notify("waiting 3 s for the request budget")
        hooks.on_result(result(2, Outcome.UP_TO_DATE))
    assert out.getvalue().splitlines() == [
        "failed tenant-1: t.sql:2: no such table: [x]",
        "waiting 3 s for the request budget",
    ]
