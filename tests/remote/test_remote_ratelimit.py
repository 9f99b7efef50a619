"""The request budget and backoff, on a fake clock (no sleeping, no network)."""

from __future__ import annotations

import random

import pytest

from orchestrator.engines.ratelimit import RateBudget, RetryPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_full_window_waits_until_the_oldest_request_leaves_it() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=3, window=10.0, clock=clock, sleep=clock.sleep)
    assert [budget.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now = 4.0
    assert budget.acquire() == pytest.approx(6.0)  # token spent at t=0 comes back at t=10
    assert clock.now == pytest.approx(10.0)


def test_never_more_than_limit_in_any_window() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=5, window=2.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(40):
        budget.acquire()
        stamps.append(clock.now)
        clock.now += 0.07
    assert max(sum(1 for u in stamps if t <= u < t + 2.0) for t in stamps) <= 5


def test_cloudflare_defaults() -> None:
    budget = RateBudget()
    assert (budget.limit, budget.window) == (1200, 300.0)


def test_pause_holds_every_sender_back() -> None:
    clock = FakeClock()
    budget = RateBudget(limit=100, window=1.0, clock=clock, sleep=clock.sleep)
    budget.pause(2.5)
    assert budget.acquire() == pytest.approx(2.5)
    budget.pause(1.0)
    budget.pause(0.5)  # a shorter pause never shortens a longer one
    assert budget.acquire() == pytest.approx(1.0)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    delays = [policy.backoff(a, rng) for a in range(1, 8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)


def test_a_budget_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError):
        RateBudget(limit=0)


def test_a_wait_for_the_budget_or_a_retry_after_is_announced_with_the_seconds_left() -> None:
    clock = FakeClock()
    told: list[tuple[float, bool]] = []
    budget = RateBudget(
        limit=1,
        window=30.0,
        clock=clock,
        sleep=clock.sleep,
        on_wait=lambda s, p: told.append((s, p)),
    )
    budget.acquire()
    clock.now = 5.0
    budget.acquire()  # the window is full: 25 s left
    budget.pause(60.0)
    budget.acquire()  # a 429 said so
    assert told == [(pytest.approx(25.0), False), (pytest.approx(60.0), True)]


def test_d1http_shows_the_budget_wait() -> None:
    from orchestrator.engines.d1http import Credentials, D1Http

    clock = FakeClock()
    shown: list[str] = []
    budget = RateBudget(limit=1, window=300.0, clock=clock, sleep=clock.sleep)
    http = D1Http(Credentials("acc", "http://127.0.0.1:9", "t"), budget=budget, notice=shown.append)
    budget.acquire()
    budget.acquire()
    http.close()
    assert shown == ["waiting 300 s for the request budget (1 requests per 300 s per token)"]
