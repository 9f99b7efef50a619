"""Execution: read every member once, then write the canary and the waves.

Each member costs one read; a member with pending migrations one write more
(several only when D1's limits need it). A write that loses the compare-and-swap
(another run changed the ledger) or whose outcome is unknown is settled by
reading again: the ledger is the truth, so a resend can never apply twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from orchestrator.checks.schema import SchemaSnapshot
from orchestrator.engines import Batch, BatchResult, Session
from orchestrator.engines.api import ApiSession
from orchestrator.engines.d1import import import_sql, render_file
from orchestrator.engines.guard import Settled, lost_race, settle_write
from orchestrator.engines.ledger import LedgerNames
from orchestrator.errors import AuthError, BatchError, OrchestrateError, OutcomeUnknown
from orchestrator.fleets.model import (
    Member,
    MemberPlan,
    MemberResult,
    MemberState,
    Outcome,
    Stage,
)
from orchestrator.fleets.planning import plan_member, version_of
from orchestrator.fleets.sql import (
    Write,
    parse_read,
    parse_schema,
    plan_writes,
    read_batch,
    read_only_batch,
    schema_only_batch,
    setup_count,
)
from orchestrator.model import Migration
from orchestrator.schema.compare import compare_schemas, without
from orchestrator.schema.target import EMPTY_SCHEMA, replay_schema

WRITE_ATTEMPTS = 3
DRIFT_MEMO_SIZE = 4096
Opener = Callable[[Member], Session]


@dataclass
class Counter:
    """Requests sent, by member and in all (thread-safe)."""

    total: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.total += n


class CountedSession:
    """A session that counts the requests it sends."""

    def __init__(self, session: Session, counter: Counter) -> None:
        self.session = session
        self.counter = counter
        self.requests = 0

    def run(self, batch: Batch) -> BatchResult:
        self.requests += 1
        self.counter.add()
        return self.session.run(batch)

    def close(self) -> None:
        self.session.close()


@dataclass(frozen=True)
class FleetContext:
    """What every member's read and write needs."""

    fleet: str
    migrations: tuple[Migration, ...]
    names: LedgerNames
    open: Opener
    started_at: str
    counter: Counter
    expected: Callable[[tuple[Migration, ...]], SchemaSnapshot | str]
    ignored: Callable[[str], bool]
    cancel: threading.Event = field(default_factory=threading.Event)
    # (applied names, id of the member's schema) -> (that schema, the drift found): members
    # mostly share one schema object (``sql.parse_schema``), so each is compared once.
    drift_memo: dict[tuple[tuple[str, ...], int], tuple[SchemaSnapshot, tuple[str, ...]]] = field(
        default_factory=dict
    )


def expected_schemas(
    migrations: Sequence[Migration],
) -> Callable[[tuple[Migration, ...]], SchemaSnapshot | str]:
    """The shadow replay's schema after the first k migrations (memoized), or why it fails."""
    cache: dict[int, SchemaSnapshot | str] = {}
    lock = threading.Lock()

    def expected(applied: tuple[Migration, ...]) -> SchemaSnapshot | str:
        with lock:
            if len(applied) not in cache:
                replayed = replay_schema(applied)
                stop = replayed.failure
                cache[len(applied)] = (
                    replayed.schema if stop is None else f"{stop.file}:{stop.line}: {stop.message}"
                )
            return cache[len(applied)]

    return expected


def read_member(context: FleetContext, member: Member, *, write: bool) -> tuple[MemberState, int]:
    """One read (apply: creating the ledgers; plan/status: read-only), never raises."""
    try:
        session = CountedSession(context.open(member), context.counter)
    except OrchestrateError as exc:
        return MemberState(member, error=exc.message), 0
    try:
        return _read(context, member, session, write), session.requests
    except OrchestrateError as exc:
        _stop_on_auth(context, exc)
        return MemberState(member, error=exc.message), session.requests
    finally:
        session.close()


def _read(
    context: FleetContext, member: Member, session: CountedSession, write: bool
) -> MemberState:
    names = context.names
    if write:
        return parse_read(member, names, session.run(read_batch(names)), setup_count(names))
    try:
        return parse_read(member, names, session.run(read_only_batch(names)), 0)
    except BatchError as exc:
        if "no such table" not in exc.sqlite_message:
            raise
    # Never migrated by a fleet run: nothing recorded, only the schema to read.
    schema = parse_schema(session.run(schema_only_batch()).rows)
    return MemberState(member, (), schema, "0:")


def drift_of(
    context: FleetContext, plan: MemberPlan, schema: SchemaSnapshot | None
) -> tuple[str, ...]:
    """Differences between a member's schema and the shadow replay of what it applied."""
    if schema is None:
        return ()
    applied_names = {r.filename.removesuffix(".sql") for r in plan.state.applied}
    applied = tuple(
        m for m in context.migrations if m.name in applied_names or m.filename in applied_names
    )
    return _compare(context, applied, schema)


def _compare(
    context: FleetContext, applied: tuple[Migration, ...], schema: SchemaSnapshot
) -> tuple[str, ...]:
    key = (tuple(m.name for m in applied), id(schema))
    known = context.drift_memo.get(key)
    if known is not None and known[0] is schema:
        return known[1]
    expected = context.expected(applied)
    if isinstance(expected, str):
        return (f"the shadow replay fails: {expected}",)
    found = compare_schemas(without(expected, context.ignored), without(schema, context.ignored))
    drift = tuple(d.message for d in found)
    if len(context.drift_memo) > DRIFT_MEMO_SIZE:  # a fleet of distinct schemas: start over
        context.drift_memo.clear()
    context.drift_memo[key] = (schema, drift)  # a dict store is atomic; a race only repeats work
    return drift


def plan_read(context: FleetContext, state: MemberState) -> MemberPlan:
    """Plan one member from its read."""
    return plan_member(state, context.migrations)


def judge_read(context: FleetContext, plan: MemberPlan, requests: int) -> MemberResult | None:
    """A member that must not be written (unreadable, refused, drifted), else None."""
    member = plan.member
    if plan.refusal is not None:
        outcome = Outcome.FAILED if plan.state.error is not None else Outcome.REFUSED
        return MemberResult(member, outcome, plan.version, error=plan.refusal, requests=requests)
    drift = drift_of(context, plan, plan.state.schema)
    if drift:
        error = f"drifted before the write: {drift[0]}"
        return MemberResult(
            member, Outcome.DRIFTED, plan.version, error=error, drift=drift, requests=requests
        )
    if not plan.pending:
        return MemberResult(member, Outcome.UP_TO_DATE, plan.version, requests=requests)
    return None


def write_member(context: FleetContext, plan: MemberPlan, requests: int) -> MemberResult:
    """Send the member's write(s); on a lost compare-and-swap or an unknown outcome, re-read."""
    try:
        session = CountedSession(context.open(plan.member), context.counter)
    except OrchestrateError as exc:
        return MemberResult(
            plan.member, Outcome.FAILED, plan.version, error=exc.message, requests=requests
        )
    try:
        result = _write_all(context, session, plan)
    finally:
        session.close()
    return replace(result, requests=result.requests + requests + session.requests)


def _write_all(context: FleetContext, session: CountedSession, plan: MemberPlan) -> MemberResult:
    applied: list[str] = []
    for _attempt in range(WRITE_ATTEMPTS):
        outcome = _try_writes(context, session, plan, applied)
        if isinstance(outcome, MemberResult):
            return outcome
        # Lost the race, or the outcome is unknown: the ledger says where we stand.
        state = _read(context, plan.member, session, True)
        if outcome is not None:  # the write whose answer was lost: did it commit?
            written = [m.filename for m in outcome.migrations]
            own = [r.filename for r in state.applied if r.checksum is not None]
            if (
                settle_write(outcome.expected_before, state.fingerprint, written, own)
                is Settled.COMMITTED
            ):
                applied += [m.name for m in outcome.migrations]
        plan = plan_member(state, context.migrations)
        if plan.refusal is not None or not plan.pending:
            done = MemberResult(
                plan.member,
                Outcome.APPLIED if applied else Outcome.UP_TO_DATE,
                plan.version,
                tuple(applied),
            )
            return (
                done
                if plan.refusal is None
                else replace(done, outcome=Outcome.REFUSED, error=plan.refusal)
            )
    return MemberResult(
        plan.member,
        Outcome.FAILED,
        plan.version,
        tuple(applied),
        "the ledger kept changing under this run",
    )


def _try_writes(
    context: FleetContext, session: CountedSession, plan: MemberPlan, applied: list[str]
) -> MemberResult | Write | None:
    """Send the writes in order: a result, or (settle by reading) ``None`` when the write
    lost the race, the ``Write`` itself when its answer was lost."""
    writes = plan_writes(
        context.names,
        plan.state,
        plan.pending,
        context.started_at,
        context.fleet,
        context.names.wrangler_tables,
    )
    version = plan.version
    done = [r.filename.removesuffix(".sql") for r in plan.state.applied]
    result: BatchResult | None = None
    for write in writes:
        try:
            result = _send(session, write)
        except BatchError as exc:
            if lost_race(exc):
                return None
            return _failed(plan, version, applied, write.batch, exc)
        except OutcomeUnknown:
            return write
        except OrchestrateError as exc:
            _stop_on_auth(context, exc)
            return MemberResult(plan.member, Outcome.FAILED, version, tuple(applied), exc.message)
        applied += [m.name for m in write.migrations]
        done += [m.name for m in write.migrations]
        version = version_of(done)
    if result is None:  # the last write went through the import flow: read what it left
        state = _read(context, plan.member, session, True)
        schema = state.schema or EMPTY_SCHEMA
    else:
        schema = parse_schema(result.rows[writes[-1].schema_offset :])
    applied_all = tuple(m for m in context.migrations if m.name in set(done))
    drift = _compare(context, applied_all, schema)
    if drift:
        return MemberResult(
            plan.member,
            Outcome.DRIFTED,
            version,
            tuple(applied),
            f"schema after the write differs: {drift[0]}",
            drift,
        )
    return MemberResult(plan.member, Outcome.APPLIED, version, tuple(applied))


IMPORT_REQUESTS = 4  # init, upload, ingest, poll (more polls when the import is slow)


def _send(session: CountedSession, write: Write) -> BatchResult | None:
    """One write: ``/query``, or D1's import flow for a statement past 100 KB (remote only)."""
    inner = session.session
    if not write.via_import or not isinstance(inner, ApiSession):
        return session.run(write.batch)
    session.requests += IMPORT_REQUESTS
    session.counter.add(IMPORT_REQUESTS)
    text = render_file(write.batch.statements[: write.schema_offset])
    import_sql(
        inner.http, inner.target.locator, text, f"{inner.target.database} ({write.batch.label})"
    )
    return None


def _failed(
    plan: MemberPlan, version: str, applied: list[str], batch: Batch, exc: BatchError
) -> MemberResult:
    where = ""
    if exc.index is not None and exc.index < len(batch.statements):
        failing = batch.statements[exc.index]
        if failing.file:
            where = f"{failing.file}:{failing.line}: " if failing.line else f"{failing.file}: "
    return MemberResult(
        plan.member, Outcome.FAILED, version, tuple(applied), where + exc.sqlite_message
    )


def _stop_on_auth(context: FleetContext, exc: OrchestrateError) -> None:
    if isinstance(exc, AuthError):
        context.cancel.set()


@dataclass
class StageRunner:
    """Runs one stage's members in parallel and reports each result as it ends."""

    context: FleetContext
    jobs: int
    on_result: Callable[[MemberResult], None]

    def run(
        self, stage: Stage, plans: dict[str, MemberPlan], reads: dict[str, int]
    ) -> list[MemberResult]:
        def one(member: Member) -> MemberResult:
            plan = plans[member.id]
            if self.context.cancel.is_set():
                return MemberResult(
                    member, Outcome.SKIPPED, plan.version, error="not started: interrupted"
                )
            judged = judge_read(self.context, plan, reads[member.id])
            result = (
                judged if judged is not None else write_member(self.context, plan, reads[member.id])
            )
            self.on_result(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, self.jobs), thread_name_prefix="fleet") as pool:
            return list(pool.map(one, stage.members))


def read_all(
    context: FleetContext, members: Sequence[Member], jobs: int, *, write: bool
) -> tuple[dict[str, MemberPlan], dict[str, int]]:
    """Read every member once (in parallel); plan each."""
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="fleet-read") as pool:
        states = list(pool.map(lambda m: read_member(context, m, write=write), members))
    plans = {s.member.id: plan_read(context, s) for s, _ in states}
    reads = {s.member.id: n for s, n in states}
    return plans, reads


def now_stamp() -> str:
    """The rollout's start, as Time Travel's ``--timestamp`` takes it (UTC, RFC 3339)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
