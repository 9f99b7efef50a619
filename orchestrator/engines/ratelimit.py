"""Pacing of remote calls: one request budget per API token, shared by every
database applied in parallel, and the backoff between retries.

Cloudflare allows 1200 requests per 5 minutes per token. The budget is a token
bucket whose tokens come back exactly one window after they were spent: unlike a
bucket refilled at a steady rate, it can never let more than ``limit`` requests
into any window, yet it allows a full burst when the window is fresh.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

CLOUDFLARE_LIMIT = 1200
CLOUDFLARE_WINDOW_S = 300.0


class RateBudget:
    """At most ``limit`` requests in any ``window`` seconds, across threads."""

    def __init__(
        self,
        limit: int = CLOUDFLARE_LIMIT,
        window: float = CLOUDFLARE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float, bool], None] | None = None,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate budget needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._spent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        # Told the seconds left before a wait of at least a second, and whether a 429's
        # retry-after (pause) is the reason (a long run never freezes without a word);
        # D1Http wires it to its notices.
        self.on_wait = on_wait

    def acquire(self) -> float:
        """Wait until a request may be sent, count it, and return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                ready = self._ready_at(now)
                if ready <= now:
                    self._spent.append(now)
                    return waited
            if self.on_wait is not None and ready - now >= 1.0:
                self.on_wait(ready - now, ready == self._paused_until)
            self._sleep(ready - now)
            waited += ready - now

    def pause(self, seconds: float) -> None:
        """Hold every sender back for ``seconds`` (the server said so: a 429's retry-after)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _ready_at(self, now: float) -> float:
        while self._spent and self._spent[0] <= now - self.window:
            self._spent.popleft()
        ready = self._paused_until
        if len(self._spent) >= self.limit:
            ready = max(ready, self._spent[0] + self.window)
        return ready


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently retry-safe calls are repeated."""

    attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential, capped, with jitter so parallel databases do not retry in step."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * rng.uniform(0.5, 1.0)
