"""Pure planning for fleets: shards, stable order, stages, pending files, estimates.

The same inputs give the same result on every machine: members are ordered and
sharded by a stable hash (sha256) of their id, never by Python's ``hash``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.discovery.naming import canonical_of
from orchestrator.errors import UsageError
from orchestrator.fleets.model import Member, MemberPlan, MemberState, Stage
from orchestrator.model import Migration

NO_VERSION = "none"


def stable_key(member_id: str) -> int:
    """A hash of ``member_id`` that is the same everywhere."""
    return int.from_bytes(hashlib.sha256(member_id.encode("utf-8")).digest()[:8], "big")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/5"`` -> ``(2, 5)``; shards count from 1."""
    if text is None:
        return None
    index, _, total = text.partition("/")
    try:
        i, n = int(index), int(total)
    except ValueError:
        raise UsageError(f"--shard {text!r} must look like I/N, e.g. 1/4") from None
    if n < 1 or not 1 <= i <= n:
        raise UsageError(f"--shard {text!r}: I must be between 1 and N")
    return i, n


def in_shard(member: Member, shard: tuple[int, int] | None) -> bool:
    """Is ``member`` in shard ``I/N`` (by a stable hash of its id)?"""
    if shard is None:
        return True
    index, total = shard
    return stable_key(member.id) % total == index - 1


def select_shard(members: Sequence[Member], shard: tuple[int, int] | None) -> tuple[Member, ...]:
    """The members of one shard, in a stable order (by hash, then id)."""
    chosen = [m for m in members if in_shard(m, shard)]
    return tuple(sorted(chosen, key=lambda m: (stable_key(m.id), m.id)))


def version_of(applied: Sequence[str]) -> str:
    """A member's version: its highest applied migration (canonical name), or ``none``."""
    names = sorted(canonical_of(a) for a in applied)
    return names[-1] if names else NO_VERSION


def plan_member(state: MemberState, migrations: Sequence[Migration]) -> MemberPlan:
    """Pending migrations of one member, or why it must not be touched."""
    applied = {canonical_of(r.filename): r for r in state.applied}
    version = version_of(tuple(applied))
    if state.error is not None:
        return MemberPlan(state, version, refusal=state.error)
    known = {m.name for m in migrations}
    unknown = sorted(set(applied) - known)
    if unknown:
        return MemberPlan(state, version, refusal=f"ledger records {unknown[0]}, which has no file")
    changed = [
        m
        for m in migrations
        if m.name in applied and applied[m.name].checksum not in (None, m.checksum)
    ]
    if changed:
        return MemberPlan(state, version, refusal=f"{changed[0].file} changed after it was applied")
    pending = tuple(m for m in migrations if m.name not in applied)
    top = max((m.number for m in migrations if m.name in applied), default=-1)
    late = [m for m in pending if m.number < top]
    if late:
        return MemberPlan(
            state, version, pending, f"{late[0].file} is pending below a migration already applied"
        )
    return MemberPlan(state, version, pending)


def parse_wave(text: str | None, members: int) -> int:
    """``--wave N`` or ``--wave P%``: members per wave (default: all the rest at once)."""
    if text is None:
        return max(1, members)
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            if not 0 < percent <= 100:
                raise ValueError(text)
            return max(1, math.ceil(members * percent / 100))
        size = int(text)
    except ValueError:
        raise UsageError(f"--wave {text!r} must be a count (50) or a percentage (10%)") from None
    if size < 1:
        raise UsageError("--wave must be at least 1")
    return size


def plan_stages(
    members: Sequence[Member], canary: Sequence[str], canary_count: int, wave: int
) -> tuple[Stage, ...]:
    """The canary (the ``canary`` list, then the first ``canary_count``), then waves."""
    named = set(canary)
    first = [m for m in members if m.name in named or m.id in named]
    rest = [m for m in members if m not in first]
    first += rest[:canary_count]
    rest = rest[canary_count:]
    stages = [Stage("canary", tuple(first))] if first else []
    for number, start in enumerate(range(0, len(rest), max(1, wave)), 1):
        stages.append(Stage(f"wave {number}", tuple(rest[start : start + wave])))
    return tuple(stages)


@dataclass(frozen=True)
class Estimate:
    """What a run will cost in requests and, at the budget, in time."""

    members: int
    requests: int
    budget: int
    window_s: float

    @property
    def seconds(self) -> float:
        """Time the budget needs for ``requests`` (a full window is free at the start)."""
        extra = max(0, self.requests - self.budget)
        return math.ceil(extra / self.budget) * self.window_s if extra else 0.0

    def describe(self) -> str:
        """``1,834 members, about 3,700 requests, about 15 min at 1,200 requests per 5 min``;
        a run the budget holds whole says so (``no wait at ...``), not ``about 1 min``."""
        window = f"{self.window_s / 60:g} min"
        wait = f"about {self.seconds / 60:g} min" if self.seconds else "no wait"
        return (
            f"{self.members:,} members, about {self.requests:,} requests, "
            f"{wait} at {self.budget:,} requests per {window}"
        )


def estimate(
    members: int, writes: int, list_requests: int, budget: int, window_s: float
) -> Estimate:
    """Requests: the list, one read per member, and the writes still to send."""
    return Estimate(members, list_requests + members + writes, budget, window_s)
