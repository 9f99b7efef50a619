"""One remote database's apply as ONE guarded write (``--batch database``, the remote default).

Requests: the ledger read (the plan's own, when the caller passes it) and one
write carrying every pending migration with its ledger rows. The write fails
whole if the ledger changed since the read (``engines.guard``), so no lock or
unlock round trip is needed and no Time Travel bookmark is requested: the run
records the time it began writing, which ``wrangler d1 time-travel restore
--timestamp`` takes. A write that lost the race, or whose answer was lost, is
settled by reading the ledger again; the run then goes on from what it says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestrator.engines import Batch, Session, Target
from orchestrator.engines.guard import Settled, lost_race, settle_write, state_fingerprint
from orchestrator.engines.ledger import LedgerState, create_statements, read_ledger, recorded_in
from orchestrator.errors import BatchError, OrchestrateError, OutcomeUnknown, TargetError
from orchestrator.model import AppliedMigration, Result, RunStatus, Step
from orchestrator.planning import plan_database
from orchestrator.runner.batches import (
    DatabaseWrite,
    Refusal,
    database_writes,
    missing_wrangler_rows,
    restore_command,
    steps_to_apply,
    sync_batch,
    synced,
    wrangler_entries,
)

if TYPE_CHECKING:
    from orchestrator.runner.job import _Job

WRITE_ATTEMPTS = 5
LOCK_POLL_S = 0.2


def restore_point() -> str:
    """Now, as Time Travel's ``--timestamp`` takes it (UTC, RFC 3339, whole seconds:
    truncation errs towards before the write)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class AtomicApply:
    """One target: read (unless given), write once, settle by reading when needed."""

    job: _Job
    session: Session
    target: Target
    state: LedgerState | None
    point: str = field(default_factory=restore_point)
    applied: list[AppliedMigration] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)

    def run(self) -> Result:
        try:
            state = self.state or read_ledger(self.session, self.job.names)
            for _attempt in range(WRITE_ATTEMPTS):
                state = self._wait_for_lock(state)
                fresh = self._attempt(state)
                if isinstance(fresh, Result):
                    return fresh
                state = fresh
        except OrchestrateError as exc:
            return self._result(RunStatus.FAILED, exc.message, exc.file, exc.line)
        return self._result(RunStatus.FAILED, "the ledger kept changing under this run")

    def _attempt(self, state: LedgerState) -> Result | LedgerState:
        """Plan from ``state`` and send the write(s); a fresh state when it must go again."""
        job = self.job
        plan = plan_database(job.database, state.rows, read=True)
        chosen = steps_to_apply(
            plan, job.options.to, job.options.allows_out_of_order(job.database.name)
        )
        if isinstance(chosen, Refusal):
            return self._result(RunStatus.FAILED, chosen.message, chosen.file)
        sync = sync_batch(job.database, plan, state)
        if sync is not None:
            self.session.run(sync)
            state = synced(state, missing_wrangler_rows(job.database, plan, state))
        if not chosen:
            if not state.own_table and not self.applied:
                # Nothing to write, and no ledger of ours yet (wrangler applied it all):
                # create it, as wrangler creates its own on apply (apply's read has
                # usually made it already).
                create = Batch(
                    tuple(create_statements(job.names)), "create ledger", retry_safe=True
                )
                self.session.run(create)
            return self._result(RunStatus.OK if self.applied else RunStatus.UP_TO_DATE)
        job.progress.started(job.database.name, len(chosen))
        writes = database_writes(job.database, chosen, job.names, state, self.point)
        for write in writes:
            if job.cancel.is_set():
                return self._result(RunStatus.INTERRUPTED, "interrupted")
            job.progress.step(job.database.name, len(self.applied), len(chosen), write.batch.label)
            fresh = self._send(write)
            if fresh is not None:
                return fresh
        return self._result(RunStatus.OK)

    def _send(self, write: DatabaseWrite) -> Result | LedgerState | None:
        """None when the write committed; a fresh state to plan again from; or a result."""
        try:
            result = self.session.run(write.batch)
        except BatchError as exc:
            if lost_race(exc):
                return self._reread(write, answered=True)
            return self._failed(write, exc)
        except OutcomeUnknown:
            return self._reread(write, answered=False)
        share = result.duration_ms / len(write.steps)
        self.applied += [
            AppliedMigration(s.migration.name, s.migration.file, share) for s in write.steps
        ]
        return None

    def _reread(self, write: DatabaseWrite, answered: bool) -> LedgerState:
        """Settle a write by the ledger: committed (its answer was lost), or changed by another."""
        state = read_ledger(self.session, self.job.names)
        now = state_fingerprint(self.job.names, state)
        own = [r.name for r in state.own]
        verdict = settle_write(write.expected, now, write.filenames, own)
        if verdict is Settled.COMMITTED and not answered:
            self.applied += [
                AppliedMigration(s.migration.name, s.migration.file, 0.0, timed=False)
                for s in write.steps
            ]
        else:
            self.elsewhere += [s.migration.name for s in write.steps if self._recorded(state, s)]
        return state

    def _recorded(self, state: LedgerState, step: Step) -> bool:
        names = [n for _, n in wrangler_entries(self.job.database, step.migration, ())]
        return recorded_in(state, step.migration.filename, names)

    def _failed(self, write: DatabaseWrite, exc: BatchError) -> Result:
        """A migration of the write failed: nothing of this write committed."""
        failing = write.batch.statements[exc.index] if exc.index is not None else None
        file = failing.file if failing is not None else None
        line = failing.line if failing is not None and failing.file else None
        others = len(write.steps) - 1
        message = exc.sqlite_message
        if others:
            message += (
                f"; nothing of this write committed (the {len(write.steps)} pending migrations "
                "go as one atomic write; --batch per-migration commits each on its own)"
            )
        return self._result(RunStatus.FAILED, message, file, line)

    def _wait_for_lock(self, state: LedgerState) -> LedgerState:
        """A run that applies migration by migration holds the lock: let it finish first."""
        deadline = time.monotonic() + self.job.options.lock_timeout
        while state.lock is not None and not state.lock.expired():
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"locked by {state.lock.owner} (host {state.lock.host}) since "
                    f"{state.lock.acquired_at} UTC",
                    hint="`orchestrate unlock --db NAME` clears a lock by hand",
                )
            if self.job.cancel.wait(LOCK_POLL_S):
                raise OrchestrateError("interrupted while waiting for the lock")
            state = read_ledger(self.session, self.job.names)
        return state

    def _result(
        self,
        status: RunStatus,
        error: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> Result:
        database = self.job.database
        command = restore_command(database, self.point) if self.applied else None
        warnings: tuple[str, ...] = ()
        if self.elsewhere:
            warnings = (
                f"{len(self.elsewhere)} migration(s) applied by another writer during this run, "
                f"not run again: {', '.join(self.elsewhere)}",
            )
        return Result(
            database.name,
            status,
            tuple(self.applied),
            error,
            file,
            line,
            (self.target.label,),
            bookmark=self.point if self.applied else None,
            restore_command=command,
            warnings=warnings,
            elsewhere=tuple(self.elsewhere),
        )
