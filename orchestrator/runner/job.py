"""One database's apply: lock, re-read, refuse what must be refused, then one
atomic batch per migration, strictly in plan order."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from orchestrator.engines import Engine, Session, Target
from orchestrator.engines.ledger import (
    LedgerNames,
    LedgerState,
    LockInfo,
    committed_batch,
    create_statements,
    ensure_and_lock_batch,
    lock_statements,
    parse_state,
    release_lock_batch,
    timing_statements,
)
from orchestrator.errors import (
    AuthError,
    BatchError,
    MigrationError,
    OrchestrateError,
    OutcomeUnknown,
    TargetError,
)
from orchestrator.model import AppliedMigration, Database, Result, RunStatus, Step
from orchestrator.planning import plan_database
from orchestrator.runner.batches import (
    Refusal,
    ledger_names,
    migration_batch,
    steps_to_apply,
    sync_batch,
)

LOCK_POLL_S = 0.2
UNKNOWN_OUTCOME_ATTEMPTS = 3


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply: limits, policies and timeouts."""

    ledger_table: str = "_migrations"
    to: int | None = None
    allow_out_of_order: bool = False
    fail_fast: bool = False
    jobs: int = 4
    lock_timeout: float = 30.0
    lock_ttl: float = 600.0
    out_of_order_by_database: tuple[tuple[str, bool], ...] = ()

    def allows_out_of_order(self, database: str) -> bool:
        """``[databases.NAME] allow_out_of_order`` wins over the global policy."""
        return dict(self.out_of_order_by_database).get(database, self.allow_out_of_order)


@dataclass
class Progress:
    """Callbacks the runner calls from worker threads (the reporter draws them)."""

    started: Callable[[str, int], None] = lambda db, total: None
    step: Callable[[str, int, int, str], None] = lambda db, done, total, file: None
    finished: Callable[[Result], None] = lambda result: None


@dataclass
class Owner:
    """This run's identity in lock rows."""

    id: str = field(default_factory=lambda: f"orchestrate-{uuid.uuid4().hex[:12]}")
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    def lock(self, ttl: float) -> LockInfo:
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
        return LockInfo(self.id, self.host, self.pid, stamp, now + ttl)


def apply_database(
    engine: Engine,
    database: Database,
    options: ApplyOptions,
    progress: Progress,
    cancel: threading.Event,
    owner: Owner,
) -> Result:
    """Apply pending migrations to every target of ``database``; never raises."""
    started = time.perf_counter()
    try:
        targets = engine.targets(database)
    except OrchestrateError as exc:  # e.g. no database_id to reach it remotely
        if isinstance(exc, AuthError):
            cancel.set()
        return Result(
            database.name, RunStatus.FAILED, error=exc.message, file=exc.file, line=exc.line
        )
    results = [
        _apply_target(engine, t, database, options, progress, cancel, owner) for t in targets
    ]
    return _combine(database, results, time.perf_counter() - started)


def _apply_target(
    engine: Engine,
    target: Target,
    database: Database,
    options: ApplyOptions,
    progress: Progress,
    cancel: threading.Event,
    owner: Owner,
) -> Result:
    names = ledger_names(database, options.ledger_table)
    try:
        session = engine.open(target)
    except OrchestrateError as exc:
        return Result(database.name, RunStatus.FAILED, error=str(exc), targets=(target.label,))
    result: Result | None = None
    try:
        result = _lock_and_run(session, engine, target, database, options, progress, cancel, owner)
    finally:
        _release(session, names, owner, result)
        session.close()
    return result


def _lock_and_run(
    session: Session,
    engine: Engine,
    target: Target,
    database: Database,
    options: ApplyOptions,
    progress: Progress,
    cancel: threading.Event,
    owner: Owner,
) -> Result:
    names = ledger_names(database, options.ledger_table)
    try:
        bookmark = session.bookmark() if engine.remote else None
        state = acquire_lock(session, names, owner, options)
        result = _run_steps(
            session, target, database, names, state, options, progress, cancel, owner, bookmark
        )
        return _with_bookmark(result, database, bookmark)
    except AuthError as exc:
        cancel.set()  # the same credentials would fail on every other database too
        return Result(database.name, RunStatus.FAILED, error=str(exc), targets=(target.label,))
    except OrchestrateError as exc:
        return Result(
            database.name,
            RunStatus.FAILED,
            error=exc.message,
            file=exc.file,
            line=exc.line,
            targets=(target.label,),
        )


def acquire_lock(
    session: Session, names: LedgerNames, owner: Owner, options: ApplyOptions
) -> LedgerState:
    """Take the database's lock (waiting up to the timeout) and return the ledgers read under it."""
    deadline = time.monotonic() + options.lock_timeout
    offset = len(create_statements(names)) + len(lock_statements(names, owner.lock(0)))
    while True:
        state = parse_state(
            names, session.run(ensure_and_lock_batch(names, owner.lock(options.lock_ttl))), offset
        )
        holder = state.lock
        if holder is not None and holder.owner == owner.id:
            return state
        if holder is not None and _abandoned(holder, owner):
            session.run(release_lock_batch(names, holder.owner))
            continue
        if time.monotonic() >= deadline:
            raise TargetError(
                _locked_message(holder, options.lock_timeout),
                hint="`orchestrate unlock --db NAME` clears a lock by hand",
            )
        time.sleep(LOCK_POLL_S)


def _abandoned(holder: LockInfo, owner: Owner) -> bool:
    """A lock whose process is gone from this very host (killed, crashed)."""
    if holder.host != owner.host or holder.pid == owner.pid:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _locked_message(holder: LockInfo | None, waited: float) -> str:
    if holder is None:
        return "could not take the lock"
    return (
        f"locked by {holder.owner} (host {holder.host}, pid {holder.pid}) since {holder.acquired_at} UTC; "
        f"waited {waited:g} s"
    )


def _run_steps(
    session: Session,
    target: Target,
    database: Database,
    names: LedgerNames,
    state: LedgerState,
    options: ApplyOptions,
    progress: Progress,
    cancel: threading.Event,
    owner: Owner,
    bookmark: str | None = None,
) -> Result:
    plan = plan_database(database, state.rows, read=True)
    warnings = tuple(
        f"{t} is not wrangler's ledger (columns differ); left alone" for t in state.foreign
    )
    chosen = steps_to_apply(plan, options.to, options.allows_out_of_order(database.name))
    if isinstance(chosen, Refusal):
        return Result(
            database.name,
            RunStatus.FAILED,
            error=chosen.message,
            file=chosen.file,
            targets=(target.label,),
        )
    sync = sync_batch(database, plan, state)
    if sync is not None:
        session.run(sync)
    progress.started(database.name, len(chosen))
    applied: list[AppliedMigration] = []
    for index, step in enumerate(chosen):
        if cancel.is_set():
            return Result(
                database.name,
                RunStatus.INTERRUPTED,
                tuple(applied),
                "interrupted",
                targets=(target.label,),
                warnings=warnings,
            )
        progress.step(database.name, index, len(chosen), step.migration.file)
        try:
            applied.append(
                _apply_step(session, database, step, names, state, owner, options, bookmark)
            )
        except MigrationError as exc:
            return Result(
                database.name,
                RunStatus.FAILED,
                tuple(applied),
                exc.message,
                exc.file,
                exc.line,
                (target.label,),
                warnings=warnings,
            )
    status = RunStatus.OK if applied else RunStatus.UP_TO_DATE
    return Result(database.name, status, tuple(applied), targets=(target.label,), warnings=warnings)


def _apply_step(
    session: Session,
    database: Database,
    step: Step,
    names: LedgerNames,
    state: LedgerState,
    owner: Owner,
    options: ApplyOptions,
    bookmark: str | None = None,
) -> AppliedMigration:
    migration = step.migration
    batch = migration_batch(
        database, step, names, state, owner.id, time.time() + options.lock_ttl, bookmark
    )
    for attempt in range(1, UNKNOWN_OUTCOME_ATTEMPTS + 1):
        try:
            result = session.run(batch)
        except BatchError as exc:
            # A resend can lose the race to a first send that committed late (its
            # ledger row is UNIQUE, so it fails as a whole): the ledger tells.
            if attempt > 1 and _committed(session, names, migration.filename):
                return AppliedMigration(migration.name, migration.file, 0.0, timed=False)
            failing = batch.statements[exc.index] if exc.index is not None else None
            line = failing.line if failing is not None and failing.file else None
            raise MigrationError(exc.sqlite_message, file=migration.file, line=line) from None
        except OutcomeUnknown:
            # Never resend blindly: the ledger row commits with the migration, so it tells.
            if _committed(session, names, migration.filename):
                return AppliedMigration(migration.name, migration.file, 0.0, timed=False)
            if attempt == UNKNOWN_OUTCOME_ATTEMPTS:
                raise
            continue
        return AppliedMigration(migration.name, migration.file, result.duration_ms)
    raise AssertionError("unreachable")


def _committed(session: Session, names: LedgerNames, filename: str) -> bool:
    rows = session.run(committed_batch(names, filename)).rows[0]
    return bool(rows and int(rows[0]["n"]) > 0)


def _with_bookmark(result: Result, database: Database, bookmark: str | None) -> Result:
    if bookmark is None or not result.applied:
        return replace(result, bookmark=bookmark)
    return replace(result, bookmark=bookmark, restore_command=restore_command(database, bookmark))


def restore_command(database: Database, bookmark: str) -> str:
    """The exact wrangler command that puts ``database`` back to ``bookmark``."""
    env = next((f" --env {b.env}" for b in database.bindings if b.env), "")
    return f"wrangler d1 time-travel restore {database.name} --bookmark={bookmark}{env}"


def _release(session: Session, names: LedgerNames, owner: Owner, result: Result | None) -> None:
    # Remote engines cannot bind a migration's time before it commits: record the
    # server-reported times now (a no-op where the engine bound them).
    timings = [(f"{a.name}.sql", a.ms) for a in (result.applied if result else ()) if a.timed]
    extra = timing_statements(names, timings)
    # If this fails the lock expires on its own; the result already says what failed.
    with contextlib.suppress(OrchestrateError):
        session.run(release_lock_batch(names, owner.id, extra))


def _combine(database: Database, results: list[Result], seconds: float) -> Result:
    """One result per database: the first failure wins, else the first target's."""
    if not results:
        return Result(database.name, RunStatus.UP_TO_DATE, seconds=seconds)
    worst = next((r for r in results if not r), results[0])
    targets = tuple(t for r in results for t in r.targets)
    applied = max(results, key=lambda r: len(r.applied)).applied if worst else worst.applied
    warnings = tuple(dict.fromkeys(w for r in results for w in r.warnings))
    return Result(
        database.name,
        worst.status if not worst else _best_status(results),
        applied,
        worst.error,
        worst.file,
        worst.line,
        targets,
        # Remote engines have one target: its bookmark is the database's.
        bookmark=next((r.bookmark for r in results if r.bookmark), None),
        restore_command=next((r.restore_command for r in results if r.restore_command), None),
        warnings=warnings,
        seconds=seconds,
    )


def _best_status(results: list[Result]) -> RunStatus:
    return RunStatus.OK if any(r.status is RunStatus.OK for r in results) else RunStatus.UP_TO_DATE
