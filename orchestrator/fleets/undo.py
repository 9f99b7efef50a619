"""``history --fleet`` and ``undo --fleet``: the recorded rollouts, and Time Travel back to one.

Every write of a rollout records the rollout's start time in the member (its
``<ledger>_rollouts`` table), in the same atomic batch as the migrations. So the members
themselves say which rollouts wrote them: one read per member, the read every fleet
command makes, tells history and undo all they need.

Undo restores, through D1's Time Travel (``POST …/time_travel/restore?timestamp=``),
every member written at or after the chosen rollout's start, to that start. A member no
rollout wrote since then gets no restore: a restore would also throw away the writes of
its application since that time, for nothing. Restoring twice to the same time is
harmless (the second restore puts the same state back), so an interrupted undo is
simply run again. Locally there is no Time Travel: undo refuses with the way to go on.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

from orchestrator.engines.d1http import D1_EDIT, D1Http
from orchestrator.errors import AuthError, OrchestrateError, UsageError
from orchestrator.fleets.model import FleetPlan, Member
from orchestrator.fleets.service import FleetRequest, Hooks, read_fleet, read_record


@dataclass(frozen=True)
class Rollout:
    """One recorded rollout: its start time and how many members (of those read) it wrote."""

    started_at: str
    members: int


@dataclass(frozen=True)
class FleetHistory:
    """``history --fleet``: the rollouts, newest first, and the last run's record."""

    fleet: str
    members: int
    rollouts: tuple[Rollout, ...]
    unreadable: tuple[tuple[Member, str], ...]
    record: dict[str, object]
    requests: int
    remote: bool
    shard: tuple[int, int] | None = None


@dataclass(frozen=True)
class Restored:
    """One member in an undo: restored (or would be, in a dry run), or why not."""

    member: Member
    ok: bool
    error: str | None = None
    requests: int = 0

    @property
    def failed(self) -> bool:
        return not self.ok

    @property
    def outcome(self) -> str:
        return "restored" if self.ok else "failed"


@dataclass(frozen=True)
class UndoReport:
    """An undo: the time restored to, every member it touched, what it left alone."""

    fleet: str
    timestamp: str
    results: tuple[Restored, ...]
    untouched: int
    requests: int
    seconds: float
    dry_run: bool = False
    shard: tuple[int, int] | None = None

    @property
    def failed(self) -> tuple[Restored, ...]:
        return tuple(r for r in self.results if not r.ok)

    def __bool__(self) -> bool:
        return not self.failed


def fleet_history(request: FleetRequest, hooks: Hooks | None = None) -> FleetHistory:
    """One read-only request per member; the rollouts counted from what the members say."""
    plan, run, reads = read_fleet(request, hooks)
    if run.http is not None:
        run.http.close()
    counts: dict[str, int] = {}
    for member in plan.members:
        for started in member.state.rollouts:
            counts[started] = counts.get(started, 0) + 1
    rollouts = tuple(Rollout(t, n) for t, n in sorted(counts.items(), reverse=True))
    return FleetHistory(
        plan.fleet,
        len(plan.members),
        rollouts,
        _unreadable(plan),
        read_record(request.settings, request.fleet, request.remote),
        sum(reads.values()) + run.listing.requests,
        request.remote,
        request.shard,
    )


@dataclass
class UndoPlan:
    """What an undo will do, from one read per member; ``run_undo`` carries it out."""

    request: FleetRequest
    timestamp: str
    touched: tuple[Member, ...]
    unreadable: tuple[Restored, ...]
    untouched: int
    reads: dict[str, int]
    listing_requests: int
    http: D1Http | None
    started: float

    def close(self) -> None:
        if self.http is not None:
            self.http.close()


def plan_undo(
    request: FleetRequest, rollout: str | None = None, hooks: Hooks | None = None
) -> UndoPlan:
    """Read every member once; choose the members written at or after the rollout's start."""
    if not request.remote:
        raise UsageError(
            "undo --fleet needs --remote: local D1 has no Time Travel",
            hint="locally, restore the members' state files from a copy, or write the "
            "reverse migration with `orchestrate revert`",
        )
    started = time.perf_counter()
    wanted = parse_rollout(rollout) if rollout not in (None, "last") else None
    plan, run, reads = read_fleet(request, hooks)
    try:
        timestamp = wanted or last_rollout(plan, request)
    except BaseException:
        if run.http is not None:
            run.http.close()
        raise
    touched = tuple(p.member for p in plan.members if any(t >= timestamp for t in p.state.rollouts))
    unreadable = tuple(
        Restored(
            m,
            False,
            f"could not be read ({error}); if a rollout since {timestamp} wrote it, "
            "restore it by hand",
            reads[m.id],
        )
        for m, error in _unreadable(plan)
    )
    untouched = len(plan.members) - len(touched) - len(unreadable)
    return UndoPlan(
        request,
        timestamp,
        touched,
        unreadable,
        untouched,
        reads,
        run.listing.requests,
        run.http,
        started,
    )


def run_undo(
    plan: UndoPlan,
    hooks: Hooks | None = None,
    on_restored: Callable[[Restored], None] | None = None,
) -> UndoReport:
    """Restore the chosen members (in parallel, one request each); a dry run sends nothing."""
    request = plan.request
    try:
        if request.dry_run:
            results = [Restored(m, True, None, plan.reads[m.id]) for m in plan.touched]
        else:
            assert plan.http is not None  # remote
            (hooks or Hooks()).on_start(len(plan.touched))
            results = _restore_all(
                plan.http, plan.touched, plan.timestamp, request.jobs, on_restored, plan.reads
            )
    finally:
        plan.close()
    restores = sum(r.requests - plan.reads[r.member.id] for r in results)
    return UndoReport(
        request.fleet,
        plan.timestamp,
        plan.unreadable + tuple(results),
        plan.untouched,
        plan.listing_requests + sum(plan.reads.values()) + restores,
        time.perf_counter() - plan.started,
        request.dry_run,
        request.shard,
    )


def undo_fleet(
    request: FleetRequest,
    rollout: str | None = None,
    hooks: Hooks | None = None,
    on_restored: Callable[[Restored], None] | None = None,
) -> UndoReport:
    """Restore every member written at or after the rollout's start to that start."""
    return run_undo(plan_undo(request, rollout, hooks), hooks, on_restored)


def last_rollout(plan: FleetPlan, request: FleetRequest) -> str:
    """The newest start time a member records, else the local record's; else refuse."""
    if plan.last_rollout:
        return plan.last_rollout
    recorded = read_record(request.settings, request.fleet, request.remote).get("started_at")
    if isinstance(recorded, str) and recorded:
        return recorded
    raise UsageError(
        f"no rollout of fleet {request.fleet!r} wrote any member: nothing to undo",
        hint=f"orchestrate history --fleet {request.fleet} --remote shows the recorded rollouts",
    )


def parse_rollout(text: str) -> str:
    """``--rollout``: a start time as history prints it (``2026-12-02T13:00:00Z``, UTC)."""
    cleaned = text.strip().replace(" ", "T")
    stamp = cleaned.removesuffix("Z")
    try:
        parsed = time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise UsageError(
            f"--rollout {text!r} is not a rollout start time",
            hint="give 'last' or a time as history prints it, e.g. 2026-12-02T13:00:00Z (UTC)",
        ) from None
    if calendar.timegm(parsed) > time.time() + 60:
        raise UsageError(f"--rollout {text!r} is in the future")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)


def _unreadable(plan: FleetPlan) -> tuple[tuple[Member, str], ...]:
    return tuple((p.member, p.state.error) for p in plan.members if p.state.error is not None)


def _restore_all(
    http: D1Http,
    members: tuple[Member, ...],
    timestamp: str,
    jobs: int,
    on_result: Callable[[Restored], None] | None,
    reads: dict[str, int],
) -> list[Restored]:
    stop: list[str] = []

    def one(member: Member) -> Restored:
        if stop:
            return Restored(member, False, f"not restored: {stop[0]}", reads[member.id])
        result = restore_member(http, member, timestamp, reads[member.id])
        if result.error and result.error.startswith("auth: "):
            stop.append("the API refused the token")
        if on_result is not None:
            on_result(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="fleet-undo") as pool:
        return list(pool.map(one, members))


def restore_member(http: D1Http, member: Member, timestamp: str, reads: int) -> Restored:
    """One restore request (retry-safe: restoring to a time twice gives the same state)."""
    path = http.database_path(member.id, "time_travel", "restore")
    query = urlencode({"timestamp": timestamp})
    try:
        http.call(
            "POST",
            f"{path}?{query}",
            None,
            retry_safe=True,
            permission=D1_EDIT,
            what=f"{member.name} (restore)",
        )
    except AuthError as exc:
        return Restored(member, False, f"auth: {exc.message}", reads + 1)
    except OrchestrateError as exc:
        return Restored(member, False, exc.message, reads + 1)
    return Restored(member, True, None, reads + 1)
