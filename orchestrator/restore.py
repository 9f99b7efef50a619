"""``undo --db NAME --remote``: Time Travel one database back to before a release.

Every remote run of ``apply`` records its restore point in the ledger rows it writes: the
time it began writing (one-write runs) or the bookmark taken before it. ``history`` groups
the rows by that point into releases, R1 the newest. Undo restores the database to the
chosen release's point, which undoes that release, every newer one, and whatever else was
written to the database since (D1 restores the whole database). Then it reads the ledger
again and says whether the release's migrations are gone from it, as they must be.

Restoring twice to one point is harmless, so an interrupted undo is simply run again.
Locally there is no Time Travel: undo refuses, with the way to go on.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.commandline import shell_command
from orchestrator.discovery.naming import canonical_of
from orchestrator.engines import Engine, Restored, Target
from orchestrator.engines.ledger import LockInfo, read_ledger
from orchestrator.errors import OrchestrateError, UsageError
from orchestrator.planning.history import HistoryEntry, Release, releases
from orchestrator.runner.batches import ledger_names
from orchestrator.services import TargetHistory, target_histories
from orchestrator.settings import Settings

# Every row: a release's number (R1, R2 …) must not depend on how many rows were read.
ALL_ROWS = 1_000_000


@dataclass(frozen=True)
class TargetUndo:
    """One target of the database, the release to undo there, and what the restore undoes:
    the rows of that release and every newer row (newest first), newer releases included."""

    target: Target
    history: TargetHistory
    release: Release
    undone: tuple[HistoryEntry, ...]
    newer: tuple[Release, ...]
    ledger_table: str


@dataclass(frozen=True)
class UndoOutcome:
    """What restoring one target did: ``ok`` when D1 restored it and the ledger no longer
    lists the undone migrations (``still_listed`` names any it does)."""

    undo: TargetUndo
    ok: bool
    restored: Restored | None = None
    error: str | None = None
    still_listed: tuple[str, ...] = ()
    # A live apply lock in the restored state: a bookmark taken after a lock wait holds
    # that run's own lock row (it expires by itself; `unlock` clears it sooner).
    lock: LockInfo | None = None


def plan_database_undo(
    settings: Settings, name: str, env: str | None, engine: Engine, release: str = "last"
) -> tuple[TargetUndo, ...]:
    """Read the database's ledger (read-only) and choose the release to undo on each target."""
    if not engine.remote:
        raise UsageError(
            "undo needs --remote: local D1 has no Time Travel",
            hint="locally, restore the state file from a copy, or write the reverse migration "
            "with `orchestrate revert`",
        )
    return tuple(
        _choose(target, history, release, settings.ledger_table)
        for target, history in target_histories(settings, name, env, engine, ALL_ROWS)
    )


def _choose(target: Target, history: TargetHistory, wanted: str, ledger: str) -> TargetUndo:
    found = releases(history.entries)
    name = history.database.name
    if not found:
        raise UsageError(
            f"{name}: no release with a restore point is recorded ({history.label}): "
            "nothing to undo",
            hint="only `orchestrate apply --remote` records one; for changes made another way, "
            f"`{shell_command('wrangler', 'd1', 'time-travel', 'restore', name)} "
            "--timestamp=TIME` restores to a time",
        )
    index = _release_index(found, wanted, name)
    chosen = found[index]
    last = history.entries.index(chosen.entries[-1])
    undone = history.entries[: last + 1]
    return TargetUndo(target, history, chosen, undone, found[:index], ledger)


def _release_index(found: tuple[Release, ...], wanted: str, name: str) -> int:
    text = wanted.strip()
    if text.lower() == "last":
        return 0
    for index, release in enumerate(found):
        if text.upper() == release.label or text == release.point:
            return index
    known = ", ".join(f"{r.label} ({r.point})" for r in found[:5])
    raise UsageError(
        f"--release {wanted!r}: {name} has no such release",
        hint=f"give 'last', a label as history prints it, or a restore point: {known}",
    )


def run_database_undo(engine: Engine, plan: tuple[TargetUndo, ...]) -> tuple[UndoOutcome, ...]:
    """Restore each target to its release's point, then read its ledger again."""
    return tuple(_restore(engine, undo) for undo in plan)


def _restore(engine: Engine, undo: TargetUndo) -> UndoOutcome:
    database = undo.history.database
    session = engine.open(undo.target)
    try:
        try:
            restored = session.restore(undo.release.point)
        except OrchestrateError as exc:
            return UndoOutcome(undo, False, error=exc.message)
        try:
            state = read_ledger(session, ledger_names(database, undo.ledger_table))
        except OrchestrateError as exc:
            unread = f"restored, but the ledger could not be read again: {exc.message}"
            return UndoOutcome(undo, False, restored, unread)
    finally:
        session.close()
    if state.problem is not None:
        unread = f"restored, but the ledger could not be read again: {state.problem.message}"
        return UndoOutcome(undo, False, restored, unread)
    listed = {canonical_of(row.name) for row in state.rows}
    still = tuple(e.row.name for e in undo.undone if canonical_of(e.row.name) in listed)
    error = f"restored, but the ledger still lists {', '.join(still)}" if still else None
    lock = state.lock if state.lock is not None and not state.lock.expired() else None
    return UndoOutcome(undo, not still, restored, error, still, lock)
