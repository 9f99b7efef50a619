"""Glue between the CLI and the fleet layers: settings -> members -> reads -> stages."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.discovery.sources import read_source
from orchestrator.engines import Session, Target
from orchestrator.engines.api import ApiSession
from orchestrator.engines.d1http import D1Http, credentials_from
from orchestrator.engines.guard import WRITE_SPLIT_BYTES, group_for_limits
from orchestrator.engines.ledger import LedgerNames
from orchestrator.engines.local import LocalEngine, LocalSession
from orchestrator.engines.ratelimit import CLOUDFLARE_LIMIT, CLOUDFLARE_WINDOW_S, RateBudget
from orchestrator.errors import UsageError
from orchestrator.fleets.members import Listing, local_members, remote_members, require_members
from orchestrator.fleets.model import FleetPlan, Member, MemberResult, Outcome, RolloutReport
from orchestrator.fleets.planning import Estimate, estimate, plan_stages, select_shard
from orchestrator.fleets.rollout import (
    Counter,
    FleetContext,
    StageRunner,
    expected_schemas,
    now_stamp,
    read_all,
)
from orchestrator.model import Migration, Problem, Severity
from orchestrator.schema.target import WRANGLER_DEFAULT_TABLE
from orchestrator.settings import FleetSettings, Settings

Notify = Callable[[str], None]


@dataclass(frozen=True)
class FleetRequest:
    """One fleet command's choices."""

    settings: Settings
    fleet: str
    remote: bool = False
    persist_to: Path | None = None
    shard: tuple[int, int] | None = None
    jobs: int = 8
    canary: int = 0
    wave: str | None = None
    max_failures: int = 0
    dry_run: bool = False
    environ: dict[str, str] | None = None
    transport: Any = None

    @property
    def fleet_settings(self) -> FleetSettings:
        found = self.settings.fleets.get(self.fleet)
        if found is None:
            known = ", ".join(self.settings.fleets) or "none declared in workspace.toml"
            raise UsageError(f"no fleet named {self.fleet!r}", hint=f"fleets: {known}")
        return found


@dataclass
class Hooks:
    """What a run tells the person watching it (all optional)."""

    notify: Notify = lambda message: None
    on_result: Callable[[MemberResult], None] = lambda result: None
    on_start: Callable[[int], None] = lambda total: None


@dataclass
class _Run:
    """A run's shared parts: migrations, members, the way to reach each one."""

    request: FleetRequest
    hooks: Hooks
    migrations: tuple[Migration, ...] = ()
    problems: tuple[Problem, ...] = ()
    listing: Listing = field(default_factory=lambda: Listing((), 0))
    context: FleetContext | None = None
    http: D1Http | None = None
    budget: int = CLOUDFLARE_LIMIT


def budget_of(settings: Settings, shard: tuple[int, int] | None) -> int:
    """Requests per 5 min this run may use: the token's, split over shards unless set per shard."""
    total = int(settings.remote.get("requests_per_5min", CLOUDFLARE_LIMIT))
    if shard is None:
        return total
    per_shard = settings.remote.get("shard_requests_per_5min")
    return int(per_shard) if per_shard else max(1, total // shard[1])


def _prepare(request: FleetRequest, hooks: Hooks, write: bool) -> _Run:
    fleet = request.fleet_settings
    root = request.settings.root
    source = read_source(root, fleet.migrations, str(Path(fleet.migrations).parent))
    run = _Run(request, hooks, source.migrations, source.problems)
    names = LedgerNames(request.settings.ledger_table, (WRANGLER_DEFAULT_TABLE,))
    counter = Counter()
    if request.remote:
        run.budget = budget_of(request.settings, request.shard)
        run.http = _http(request, run.budget, hooks.notify)
        run.listing = remote_members(fleet, root, run.http)
        counter.add(run.listing.requests)
        http = run.http

        def opener(m: Member) -> Session:
            return ApiSession(http, Target(m.name, "remote", m.id))

    else:
        run.listing = Listing(local_members(fleet, root, request.persist_to), 0)
        opener = _local_opener(root, write)
    require_members(run.listing, request.fleet)
    ignored = _ignored(request.settings.ledger_table)
    run.context = FleetContext(
        request.fleet,
        run.migrations,
        names,
        opener,
        now_stamp(),
        counter,
        expected_schemas(run.migrations),
        ignored,
    )
    return run


def _ignored(ledger_table: str) -> Callable[[str], bool]:
    prefix = ledger_table.lower()
    return lambda name: (
        name.lower().startswith(prefix) or name.lower() in (WRANGLER_DEFAULT_TABLE, "_seeds")
    )


def _http(request: FleetRequest, budget: int, notify: Notify) -> D1Http:
    environ = request.environ if request.environ is not None else dict(os.environ)
    credentials = credentials_from(request.settings.remote, environ)
    # D1Http announces every wait of a second or more with the seconds left (the budget's,
    # a 429's retry-after, a backoff): through ``notify``, so beside the progress bar and
    # once (its own line to stderr came on top of a second one from here).
    rate = RateBudget(budget, CLOUDFLARE_WINDOW_S)
    return D1Http(credentials, transport=request.transport, budget=rate, notice=notify)


def _local_opener(root: Path, write: bool) -> Callable[..., Session]:
    engine = LocalEngine(root)

    def open_member(member: Any) -> Session:
        target = Target(member.name, "local", member.id)
        if not write and not Path(member.id).is_file():
            return LocalSession(sqlite3.connect(":memory:", check_same_thread=False), target)
        return engine.open(target, read_only=not write)

    return open_member


def read_fleet(
    request: FleetRequest, hooks: Hooks | None = None, *, write: bool = False
) -> tuple[FleetPlan, _Run, dict[str, int]]:
    """List and read every member of the (shard of the) fleet once; plan each."""
    run = _prepare(request, hooks or Hooks(), write)
    assert run.context is not None
    try:
        members = select_shard(run.listing.members, request.shard)
        plans, reads = read_all(run.context, members, request.jobs, write=write)
    except BaseException:
        _close(run)
        raise
    problems = run.problems + tuple(
        Problem(Severity.WARNING, "fleet.missing", f"{m} is in ids_file but not in the account")
        for m in run.listing.missing
    )
    plan = FleetPlan(
        request.fleet, run.migrations, tuple(plans[m.id] for m in members), problems, request.shard
    )
    return plan, run, reads


def _close(run: _Run) -> None:
    if run.http is not None:
        run.http.close()


def plan_fleet(request: FleetRequest) -> FleetPlan:
    """``plan --fleet``: one read-only request per member."""
    plan, run, _ = read_fleet(request)
    _close(run)
    return plan


def writes_needed(plan: FleetPlan, run: _Run) -> int:
    """How many writes the members with pending migrations need."""
    # As many as plan_writes makes, without building every member's batch to count them.
    return sum(len(group_for_limits(p.pending, WRITE_SPLIT_BYTES)) for p in plan.with_pending)


def first_estimate(request: FleetRequest, members: int, list_requests: int) -> Estimate:
    """Before anything is read: at most a read and a write per member."""
    return estimate(
        members,
        members,
        list_requests,
        budget_of(request.settings, request.shard),
        CLOUDFLARE_WINDOW_S,
    )


def apply_fleet(
    request: FleetRequest, hooks: Hooks | None = None
) -> tuple[FleetPlan, RolloutReport]:
    """Read every member, then write the canary and the waves; stop past --max-failures."""
    hooks = hooks or Hooks()
    started = time.perf_counter()
    plan, run, reads = read_fleet(request, hooks, write=not request.dry_run)
    assert run.context is not None
    try:
        count = len(plan.members)
        writes = writes_needed(plan, run)
        if request.remote:
            cost = estimate(count, writes, run.listing.requests, run.budget, CLOUDFLARE_WINDOW_S)
            hooks.notify(f"{cost.describe()} ({writes:,} writes to send)")
        members = tuple(p.member for p in plan.members)
        wave = _wave_size(request.wave, len(members))
        stages = plan_stages(members, request.fleet_settings.canary, request.canary, wave)
        if request.dry_run:
            results = tuple(_dry(p, reads[p.member.id], run) for p in plan.members)
            report = RolloutReport(
                request.fleet,
                run.context.started_at,
                results,
                tuple(s.label for s in stages),
                None,
                run.context.counter.total,
                time.perf_counter() - started,
                True,
            )
            return plan, report
        hooks.on_start(count)
        report = _stages(request, run, plan, reads, stages, hooks)
        report = RolloutReport(
            **{
                **report.__dict__,
                "seconds": time.perf_counter() - started,
                "requests": run.context.counter.total,
            }
        )
        record_rollout(request, report)
        return plan, report
    finally:
        _close(run)


def _wave_size(text: str | None, members: int) -> int:
    from orchestrator.fleets.planning import parse_wave

    return parse_wave(text, members)


def _dry(plan: Any, reads: int, run: _Run) -> MemberResult:
    assert run.context is not None
    from orchestrator.fleets.rollout import judge_read

    judged = judge_read(run.context, plan, reads)
    if judged is not None:
        return judged
    return MemberResult(
        plan.member,
        Outcome.PLANNED,
        plan.version,
        tuple(m.name for m in plan.pending),
        requests=reads,
    )


def _stages(
    request: FleetRequest,
    run: _Run,
    plan: FleetPlan,
    reads: dict[str, int],
    stages: Any,
    hooks: Hooks,
) -> RolloutReport:
    assert run.context is not None
    plans = {p.member.id: p for p in plan.members}
    runner = StageRunner(run.context, request.jobs, hooks.on_result)
    results: list[MemberResult] = []
    done: list[str] = []
    stopped = None
    for stage in stages:
        if stopped is not None or run.context.cancel.is_set():
            reason = stopped or "interrupted"
            results += [
                MemberResult(
                    m,
                    Outcome.SKIPPED,
                    plans[m.id].version,
                    error=f"not started: {reason}",
                    requests=reads[m.id],
                )
                for m in stage.members
            ]
            continue
        results += runner.run(stage, plans, reads)
        done.append(stage.label)
        failures = sum(1 for r in results if r.failed)
        if failures > request.max_failures:
            stopped = f"{failures} failed or drifted after the {stage.label} (--max-failures {request.max_failures})"
    return RolloutReport(
        request.fleet, run.context.started_at, tuple(results), tuple(done), stopped
    )


def record_path(settings: Settings, fleet: str, remote: bool) -> Path:
    """Where the last rollout of a fleet is recorded (status shows its failures)."""
    return (
        settings.root
        / ".orchestrate"
        / "fleets"
        / f"{fleet}-{'remote' if remote else 'local'}.json"
    )


def record_rollout(request: FleetRequest, report: RolloutReport) -> None:
    """Keep the last rollout's start time and its failed members, atomically."""
    path = record_path(request.settings, request.fleet, request.remote)
    # A re-run that found every member up to date rolled nothing out: the last
    # rollout's start time stays the one before it.
    rolled_out = any(r.outcome is not Outcome.UP_TO_DATE for r in report.results)
    previous = read_record(request.settings, request.fleet, request.remote)
    data = {
        "started_at": report.started_at if rolled_out else previous.get("started_at"),
        "shard": list(request.shard) if request.shard else None,
        "stopped": report.stopped,
        "failed": {
            r.member.id: {"name": r.member.name, "outcome": str(r.outcome), "error": r.error}
            for r in report.results
            if r.failed
        },
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # the record helps status; the ledgers remain the truth


def read_record(settings: Settings, fleet: str, remote: bool) -> dict[str, Any]:
    """The last rollout's record, or nothing."""
    try:
        data = json.loads(record_path(settings, fleet, remote).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def status_fleet(request: FleetRequest) -> tuple[FleetPlan, dict[str, Any], list[MemberResult]]:
    """``status --fleet``: one read-only request per member, the last rollout's record,
    and the members whose schema drifted from what their ledger says."""
    from orchestrator.fleets.rollout import judge_read

    plan, run, reads = read_fleet(request)
    _close(run)
    assert run.context is not None
    judged = [judge_read(run.context, p, reads[p.member.id]) for p in plan.members]
    flagged = [j for j in judged if j is not None and j.failed]
    return plan, read_record(request.settings, request.fleet, request.remote), flagged
