"""One database's apply: lock, re-read, refuse what must be refused, then one
atomic batch per migration, strictly in plan order."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from orchestrator.commandline import shell_command
from orchestrator.engines import Engine, Session, Target
from orchestrator.engines.ledger import (
    LedgerNames,
    LedgerState,
    LockInfo,
    create_statements,
    ensure_and_lock_batch,
    lock_statements,
    parse_state,
    recorded_in,
    release_lock_batch,
    settle_conflict,
    timing_statements,
)
from orchestrator.errors import (
    AuthError,
    BatchError,
    Interrupted,
    MigrationError,
    OrchestrateError,
    OutcomeUnknown,
    TargetError,
)
from orchestrator.model import AppliedMigration, CopyStatus, Database, Result, RunStatus, Step
from orchestrator.planning import plan_database
from orchestrator.runner.atomic import AtomicApply
from orchestrator.runner.batches import (
    Refusal,
    ledger_names,
    migration_batch,
    restore_command,
    steps_to_apply,
    sync_batch,
    wrangler_entries,
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
    # Remote: "database" sends each database's pending migrations as one guarded write
    # (runner.atomic); "per-migration" commits each migration on its own, under the lock.
    # The CLI and ``services.ApplyRequest`` default to "database".
    batch: str = "per-migration"
    # Ledger states the plan was read from, by database key (saves the remote read).
    states: tuple[tuple[str, LedgerState], ...] = field(default=(), compare=False)

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


class _AppliedElsewhere(Exception):
    """A migration's batch hit the ledger's UNIQUE guard: another writer recorded it.

    ``state`` is the ledger as re-read just now (it settles what else that writer did).
    """

    def __init__(self, state: LedgerState) -> None:
        super().__init__("applied by another writer")
        self.state = state


def apply_database(
    engine: Engine,
    database: Database,
    options: ApplyOptions,
    progress: Progress,
    cancel: threading.Event,
    owner: Owner,
    copies: tuple[CopyStatus, ...] = (),
) -> Result:
    """Apply pending migrations to every target of ``database``; never raises.

    ``copies``: how the plan saw each local copy, so that a copy behind another is
    told how to catch up rather than to renumber."""
    started = time.perf_counter()
    job = _Job(engine, database, options, progress, cancel, owner, copies)
    try:
        targets = engine.targets(database)
    except OrchestrateError as exc:  # e.g. no database_id to reach it remotely
        return job.failed(exc)
    results = [job.apply_target(target) for target in targets]
    return _combine(database, results, time.perf_counter() - started)


@dataclass(frozen=True)
class _Job:
    """What every step of one database's apply needs to know."""

    engine: Engine
    database: Database
    options: ApplyOptions
    progress: Progress
    cancel: threading.Event
    owner: Owner
    copies: tuple[CopyStatus, ...] = ()

    @property
    def names(self) -> LedgerNames:
        return ledger_names(self.database, self.options.ledger_table)

    def failed(self, exc: OrchestrateError, target: Target | None = None) -> Result:
        """A failed result from an error; refused credentials stop every other database too."""
        if isinstance(exc, AuthError):
            self.cancel.set()
        labels = (target.label,) if target is not None else ()
        return Result(
            self.database.name,
            RunStatus.FAILED,
            error=exc.message,
            file=exc.file,
            line=exc.line,
            targets=labels,
        )

    def apply_target(self, target: Target) -> Result:
        """Open, lock, apply, release and close one copy of the database."""
        try:
            session = self.engine.open(target)
        except OrchestrateError as exc:
            return self.failed(exc, target)
        if self.engine.remote and self.options.batch == "database":
            try:
                known = dict(self.options.states).get(self.database.key)
                return AtomicApply(self, session, target, known).run()
            finally:
                session.close()
        result: Result | None = None
        try:
            result = self._lock_and_run(session, target)
        finally:
            released = _release(session, self.names, self.owner, result)
            session.close()
        assert result is not None  # _lock_and_run returns or raises
        if released:
            return result
        return replace(
            result, warnings=(*result.warnings, _unreleased(self.database, self.options))
        )

    def _lock_and_run(self, session: Session, target: Target) -> Result:
        waited: list[bool] = []
        try:
            bookmark = session.bookmark() if self.engine.remote else None
            state = acquire_lock(
                session,
                self.names,
                self.owner,
                self.options,
                self.cancel,
                lambda: waited.append(True),
            )
            if waited and bookmark is not None:
                # Another run applied while we waited: undoing *our* release must not undo its.
                bookmark = session.bookmark()
            steps = _Steps(self, session, target, state, bookmark)
            return _with_bookmark(steps.run(), self.database, bookmark)
        except Interrupted as exc:
            return Result(
                self.database.name,
                RunStatus.INTERRUPTED,
                error=exc.message,
                targets=(target.label,),
            )
        except OrchestrateError as exc:
            return self.failed(exc, target)


def acquire_lock(
    session: Session,
    names: LedgerNames,
    owner: Owner,
    options: ApplyOptions,
    cancel: threading.Event | None = None,
    on_wait: Callable[[], None] | None = None,
) -> LedgerState:
    """Take the database's lock (waiting up to the timeout) and return the ledgers read under it.

    ``on_wait`` is called once if another run holds the lock; ``cancel`` (Ctrl-C) ends the wait.
    """
    deadline = time.monotonic() + options.lock_timeout
    waited = False
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
        if on_wait is not None and not waited:
            on_wait()
        waited = True
        if cancel is not None and cancel.wait(LOCK_POLL_S):
            raise Interrupted("interrupted while waiting for the lock")
        if cancel is None:
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


# A migration's batch skips renewing the lock while it was renewed less than this long ago.
RENEW_SLACK_S = 30.0


@dataclass
class _Lease:
    """Our lock's expiry as last committed. A migration's batch renews it, as before,
    unless the last renewal is under ``RENEW_SLACK_S`` old: a write of the lock row in
    every commit of a fast run cost 6% of a local apply of 10,000 migrations. A renewal
    takes effect only when its batch commits, so each batch still starts with at least
    ``ttl - RENEW_SLACK_S`` left (570 of 600 s), where it used to have all of ``ttl``."""

    ttl: float
    expires: float

    def due(self, now: float) -> float | None:
        """The new expiry to write with the next migration, or None while it is fresh."""
        slack = min(RENEW_SLACK_S, self.ttl / 2)
        return now + self.ttl if self.expires - now < self.ttl - slack else None


@dataclass(frozen=True)
class _Steps:
    """One target's pending migrations, applied in plan order under the lock."""

    job: _Job
    session: Session
    target: Target
    state: LedgerState
    bookmark: str | None
    lease: _Lease = field(init=False)

    def __post_init__(self) -> None:
        held = self.state.lock
        expires = held.expires_at if held is not None and held.owner == self.job.owner.id else 0.0
        object.__setattr__(self, "lease", _Lease(self.job.options.lock_ttl, expires))

    def result(
        self,
        status: RunStatus,
        applied: list[AppliedMigration],
        error: OrchestrateError | Refusal | None = None,
        elsewhere: tuple[str, ...] = (),
    ) -> Result:
        warnings = tuple(
            f"{t} is not wrangler's ledger (columns differ); left alone" for t in self.state.foreign
        )
        if elsewhere:
            warnings += (
                f"{len(elsewhere)} migration(s) applied by another writer during this run, "
                f"not run again: {', '.join(elsewhere)}",
            )
        message = error.message if error is not None else None
        file = error.file if error is not None else None
        line = error.line if isinstance(error, OrchestrateError) else None
        return Result(
            self.job.database.name,
            status,
            tuple(applied),
            message,
            file,
            line,
            (self.target.label,),
            warnings=warnings,
            elsewhere=elsewhere,
        )

    def run(self) -> Result:
        job = self.job
        plan = replace(plan_database(job.database, self.state.rows, read=True), copies=job.copies)
        chosen = steps_to_apply(
            plan, job.options.to, job.options.allows_out_of_order(job.database.name)
        )
        if isinstance(chosen, Refusal):
            return self.result(RunStatus.FAILED, [], chosen)
        sync = sync_batch(job.database, plan, self.state)
        if sync is not None:
            self.session.run(sync)
        job.progress.started(job.database.name, len(chosen))
        return self.run_steps(list(chosen))

    def run_steps(self, pending: list[Step]) -> Result:
        """Apply ``pending`` in order; a step another writer recorded is skipped, not failed."""
        job, total = self.job, len(pending)
        applied: list[AppliedMigration] = []
        elsewhere: list[str] = []
        while pending:
            step = pending.pop(0)
            done = len(applied) + len(elsewhere)
            if job.cancel.is_set():
                return self.result(
                    RunStatus.INTERRUPTED,
                    applied,
                    OrchestrateError("interrupted"),
                    tuple(elsewhere),
                )
            job.progress.step(job.database.name, done, total, step.migration.file)
            try:
                applied.append(self.apply_step(step))
            except _AppliedElsewhere as found:
                elsewhere.append(step.migration.name)
                # That writer is at work: skip what the fresh ledger shows it has done since.
                taken = [s for s in pending if self.recorded(found.state, s)]
                elsewhere += [s.migration.name for s in taken]
                pending = [s for s in pending if s not in taken]
            except MigrationError as exc:
                return self.result(RunStatus.FAILED, applied, exc, tuple(elsewhere))
            except OrchestrateError as exc:  # unreachable, refused, unreadable answer mid-run
                return self.interrupted_by(exc, step, applied, tuple(elsewhere))
        status = RunStatus.OK if applied else RunStatus.UP_TO_DATE
        return self.result(status, applied, None, tuple(elsewhere))

    def interrupted_by(
        self,
        exc: OrchestrateError,
        step: Step,
        applied: list[AppliedMigration],
        elsewhere: tuple[str, ...],
    ) -> Result:
        """A failure that is not the migration's own: say what committed, truthfully.

        The ledger is asked once more whether ``step`` committed; if it cannot be read
        either, the step's outcome is reported as unknown, and the undo command is
        given whenever something did or may have committed.
        """
        migration = step.migration
        outcome = "did not commit"
        try:
            if self.settle(step, resent=True) is not None:
                applied = [
                    *applied,
                    AppliedMigration(migration.name, migration.file, 0.0, timed=False),
                ]
                outcome = "committed (confirmed from the ledger)"
        except _AppliedElsewhere:
            elsewhere = (*elsewhere, migration.name)
            outcome = "was applied by another writer"
        except OrchestrateError:
            outcome = "may have committed: the ledger could not be read to tell"
        error = OrchestrateError(
            f"{exc.message}; {migration.file} {outcome}; later migrations not attempted"
        )
        result = self.result(RunStatus.FAILED, applied, error, elsewhere)
        if self.job.engine.remote and self.bookmark is not None and outcome.startswith("may"):
            command = restore_command(self.job.database, self.bookmark)
            return replace(result, bookmark=self.bookmark, restore_command=command)
        return result

    def recorded(self, state: LedgerState, step: Step) -> bool:
        """Does ``state`` record ``step`` under our name or any of wrangler's?"""
        names = [n for _, n in wrangler_entries(self.job.database, step.migration, ())]
        return recorded_in(state, step.migration.filename, names)

    def apply_step(self, step: Step) -> AppliedMigration:
        """One migration as one atomic batch; a failure or unknown outcome is settled by the ledger.

        Raises ``_AppliedElsewhere`` when the ledger shows another writer recorded the
        migration (our batch then failed whole on the UNIQUE guard), ``MigrationError``
        when the migration itself failed.
        """
        job, names, migration = self.job, self.job.names, step.migration
        renewal = self.lease.due(time.time())
        owner = job.owner.id if renewal is not None else None
        batch = migration_batch(
            job.database, step, names, self.state, owner, renewal or 0.0, self.bookmark
        )
        for attempt in range(1, UNKNOWN_OUTCOME_ATTEMPTS + 1):
            try:
                result = self.session.run(batch)
            except BatchError as exc:
                settled = self.settle(step, resent=attempt > 1)
                if settled is not None:
                    return settled
                failing = batch.statements[exc.index] if exc.index is not None else None
                line = failing.line if failing is not None and failing.file else None
                raise MigrationError(exc.sqlite_message, file=migration.file, line=line) from None
            except OutcomeUnknown:
                # Never resend blindly: the ledger row commits with the migration, so it tells.
                settled = self.settle(step, resent=True)
                if settled is not None:
                    return settled
                if attempt == UNKNOWN_OUTCOME_ATTEMPTS:
                    raise
                continue
            if renewal is not None:
                self.lease.expires = renewal
            return AppliedMigration(migration.name, migration.file, result.duration_ms)
        raise AssertionError("unreachable")

    def settle(self, step: Step, resent: bool) -> AppliedMigration | None:
        """Re-read the ledger after a failed or unanswered send of ``step``.

        Our own row after a resend (or a send whose answer was lost) is our own late
        commit; a row of any ledger otherwise is another writer's (``_AppliedElsewhere``);
        no row: the migration did not commit (None).
        """
        migration = step.migration
        wrangler_names = [n for _, n in wrangler_entries(self.job.database, migration, ())]
        state = settle_conflict(self.session, self.job.names, migration.filename, wrangler_names)
        if state is None:
            return None
        ours = any(r.name == migration.filename for r in state.own)
        if resent and ours:
            return AppliedMigration(migration.name, migration.file, 0.0, timed=False)
        raise _AppliedElsewhere(state)


def _with_bookmark(result: Result, database: Database, bookmark: str | None) -> Result:
    if result.restore_command is not None:
        return result
    if bookmark is None or not result.applied:
        return replace(result, bookmark=bookmark)
    return replace(result, bookmark=bookmark, restore_command=restore_command(database, bookmark))


def _unreleased(database: Database, options: ApplyOptions) -> str:
    return (
        f"the lock could not be released (the target did not answer); it expires within "
        f"{options.lock_ttl:g} s, or clear it with `{shell_command('orchestrate', 'unlock', '--db', database.name)}`"
    )


def _release(session: Session, names: LedgerNames, owner: Owner, result: Result | None) -> bool:
    """Release our lock (with the times that ride along); False when the target did not take it."""
    # Remote engines cannot bind a migration's time before it commits: record the
    # server-reported times now (a no-op where the engine bound them).
    timings = [(f"{a.name}.sql", a.ms) for a in (result.applied if result else ()) if a.timed]
    extra = timing_statements(names, timings)
    # If this fails the lock expires on its own; the caller says so beside what failed.
    try:
        session.run(release_lock_batch(names, owner.id, extra))
    except OrchestrateError:
        return False
    return True


def _combine(database: Database, results: list[Result], seconds: float) -> Result:
    """One result per database: the first failure wins, else the first target's."""
    if not results:
        return Result(database.name, RunStatus.UP_TO_DATE, seconds=seconds)
    worst = next((r for r in results if not r), results[0])
    targets = tuple(t for r in results for t in r.targets)
    applied = max(results, key=lambda r: len(r.applied)).applied if worst else worst.applied
    warnings = tuple(dict.fromkeys(w for r in results for w in r.warnings))
    elsewhere = tuple(dict.fromkeys(n for r in results for n in r.elsewhere))
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
        elsewhere=elsewhere,
        copies=_copies(results),
    )


def _copies(results: list[Result]) -> tuple[tuple[str, str, int], ...]:
    """Each local copy's own outcome, when a database has several (named by package)."""
    if len(results) < 2:
        return ()
    return tuple(
        (label, r.status.value, len(r.applied)) for r in results for label in r.targets[:1]
    )


def _best_status(results: list[Result]) -> RunStatus:
    return RunStatus.OK if any(r.status is RunStatus.OK for r in results) else RunStatus.UP_TO_DATE
