"""``orchestrate verify``: does each target's schema match what its applied
migrations produce? Read-only: the target is read in a read-only session, the
expected schema comes from an in-memory shadow replay.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.checks.schema import SchemaSnapshot
from orchestrator.discovery import require_databases
from orchestrator.discovery.naming import canonical_of
from orchestrator.engines import Engine, Target
from orchestrator.engines.ledger import EMPTY_STATE, LedgerState, merge_states, read_ledger
from orchestrator.errors import OrchestrateError
from orchestrator.model import Database, Migration, Status, Step
from orchestrator.planning import plan_database
from orchestrator.runner.batches import ledger_names
from orchestrator.schema.compare import Difference, compare_schemas, without
from orchestrator.schema.record import (
    DIFFERENCES_KEPT,
    ledger_fingerprint,
    target_key,
    write_record,
)
from orchestrator.schema.target import (
    EMPTY_SCHEMA,
    Expected,
    ledger_filter,
    read_target_schema,
    replay_schema,
)
from orchestrator.services import ApplyRequest, load_workspace
from orchestrator.settings import Settings


@dataclass(frozen=True)
class TargetVerdict:
    """One copy of a database: how many migrations it has applied and how its schema differs."""

    target: str
    applied: int
    differences: tuple[Difference, ...]
    exists: bool = True
    notes: tuple[str, ...] = ()
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return not self.differences and self.failure is None


@dataclass(frozen=True)
class DatabaseVerdict:
    """Every target of one database; ``state`` is the merged ledger (for the status cache)."""

    name: str
    targets: tuple[TargetVerdict, ...]
    state: LedgerState = field(default=EMPTY_STATE, compare=False, repr=False)

    @property
    def drift(self) -> int:
        """Differences over all targets."""
        return sum(len(t.differences) for t in self.targets)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.targets)


@dataclass(frozen=True)
class VerifyReport:
    """The whole run; falsy when any database drifted or could not be verified."""

    target: str
    env: str | None
    databases: tuple[DatabaseVerdict, ...]

    def __bool__(self) -> bool:
        return all(d.ok for d in self.databases)


Replayer = Callable[[tuple[Migration, ...]], Expected]
READ_ATTEMPTS = 3


def verify_databases(request: ApplyRequest) -> VerifyReport:
    """Verify every selected database on the request's target (read-only)."""
    engine = request.make_engine()
    workspace = load_workspace(request.settings, request.env, request.names)
    require_databases(workspace)
    replayer = _memoized(replay_schema)

    def check(database: Database) -> DatabaseVerdict:
        return verify_database(engine, database, request.settings, replayer)

    jobs = max(1, request.settings.concurrency)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        verdicts = tuple(pool.map(check, workspace.databases))
    target = "remote" if engine.remote else "local"
    return VerifyReport(target, request.env, verdicts)


def verify_database(
    engine: Engine, database: Database, settings: Settings, replayer: Replayer = replay_schema
) -> DatabaseVerdict:
    """Compare every target of ``database`` with the replay of what that target applied."""
    try:
        targets = engine.targets(database)
    except OrchestrateError as exc:  # e.g. no database_id to reach it remotely
        unreached = TargetVerdict("-", 0, (), False, failure=str(exc))
        return DatabaseVerdict(database.name, (unreached,))
    results = [verify_target(engine, t, database, settings, replayer) for t in targets]
    states = [state for _, state in results]
    merged = merge_states(states) if states else EMPTY_STATE
    return DatabaseVerdict(database.name, tuple(v for v, _ in results), merged)


def verify_target(
    engine: Engine,
    target: Target,
    database: Database,
    settings: Settings,
    replayer: Replayer = replay_schema,
) -> tuple[TargetVerdict, LedgerState]:
    """Read one target's ledger and schema, replay what it applied, compare."""
    try:
        state, actual = _read(engine, target, database, settings.ledger_table)
    except OrchestrateError as exc:  # unreachable, refused: this target is not verified
        return TargetVerdict(target.label, 0, (), False, failure=str(exc)), EMPTY_STATE
    plan = plan_database(database, state.rows, read=True)
    applied = tuple(s.migration for s in plan.steps if s.status is not Status.PENDING)
    notes = _notes(plan.steps, state, database)
    expected = replayer(applied)
    if expected.failure is not None:
        stop = expected.failure
        failure = f"cannot replay the applied migrations: {stop.file}:{stop.line}: {stop.message}"
        return TargetVerdict(target.label, len(applied), (), state.exists, notes, failure), state
    ignored = ledger_filter(database, settings.ledger_table)
    found = compare_schemas(without(expected.schema, ignored), without(actual, ignored))
    return TargetVerdict(target.label, len(applied), found, state.exists, notes), state


def _read(
    engine: Engine, target: Target, database: Database, ledger_table: str
) -> tuple[LedgerState, SchemaSnapshot]:
    if not engine.exists(target):
        return EMPTY_STATE, EMPTY_SCHEMA
    names = ledger_names(database, ledger_table)
    session = engine.open(target, read_only=True)
    try:
        # A release landing between the two reads would look like drift: read until the
        # ledger is the same on both sides of the schema read.
        state = read_ledger(session, names)
        for _ in range(READ_ATTEMPTS):
            schema = read_target_schema(session)
            again = read_ledger(session, names)
            if again.rows == state.rows:
                break
            state = again
        return state, schema
    finally:
        session.close()


def _notes(steps: tuple[Step, ...], state: LedgerState, database: Database) -> tuple[str, ...]:
    notes = [
        f"{s.migration.file} changed after it was applied; compared with its current text"
        for s in steps
        if s.status is Status.CHANGED
    ]
    known = {s.migration.name for s in steps}
    unknown = sorted({canonical_of(r.name) for r in state.rows} - known)
    notes += [
        f"the ledger records {n}, which has no file: its changes are not replayed" for n in unknown
    ]
    return tuple(notes)


def _memoized(replayer: Replayer) -> Replayer:
    """Targets that applied the same migrations share one replay."""
    cache: dict[tuple[Migration, ...], Expected] = {}
    lock = threading.Lock()

    def cached(migrations: tuple[Migration, ...]) -> Expected:
        with lock:
            if migrations not in cache:
                cache[migrations] = replayer(migrations)
            return cache[migrations]

    return cached


def record_report(request: ApplyRequest, report: VerifyReport) -> Path:
    """Keep each verified database's drift count for ``status`` (see ``schema.record``)."""
    entries = {
        d.name: {
            "drift": d.drift,
            "ledger": ledger_fingerprint(d.state),
            "differences": [
                f"{t.target}: {diff.message}" for t in d.targets for diff in t.differences
            ][:DIFFERENCES_KEPT],
        }
        for d in report.databases
        if all(t.failure is None for t in d.targets)
    }
    key = target_key(request.remote, request.env, request.persist_to)
    return write_record(request.settings.root, key, entries)
