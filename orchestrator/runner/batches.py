"""Pure: turn planned steps into the exact batches an engine runs.

``apply --dry-run`` prints these very batches; ``apply`` executes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from orchestrator.commandline import restore_flag, shell_command
from orchestrator.engines import Batch, Sql
from orchestrator.engines.guard import (
    WRITE_SPLIT_BYTES,
    advance,
    group_for_limits,
    guard_statements,
    guarded_tables,
    state_fingerprint,
)
from orchestrator.engines.ledger import (
    LedgerNames,
    LedgerState,
    create_statements,
    record_statements,
)
from orchestrator.model import Database, DatabasePlan, Migration, Status, Step
from orchestrator.planning.copies import catch_up_hint
from orchestrator.sqltext import split_executable


@dataclass(frozen=True)
class Refusal:
    """Why a database is not applied, naming the file to look at."""

    message: str
    file: str | None = None


def ledger_names(database: Database, table: str) -> LedgerNames:
    """Our ledger, plus wrangler's table of every binding whose directory has migrations."""
    fed = {m.source for m in database.migrations}
    tables = sorted({b.migrations_table for b in database.bindings if b.migrations_dir in fed})
    return LedgerNames(table, tuple(tables))


def wrangler_entries(
    database: Database, migration: Migration, foreign: Iterable[str]
) -> list[tuple[str, str]]:
    """(table, name) rows wrangler expects for ``migration``: one per binding that reads its directory."""
    skip = set(foreign)
    tables = sorted(
        {b.migrations_table for b in database.bindings if b.migrations_dir == migration.source}
    )
    return [(t, migration.wrangler_name) for t in tables if t not in skip]


def steps_to_apply(
    plan: DatabasePlan, to: int | None, allow_out_of_order: bool
) -> tuple[Step, ...] | Refusal:
    """Pending steps up to ``--to``, or why the database must not be touched."""
    changed = plan.changed
    if changed:
        files = ", ".join(s.migration.file for s in changed)
        return Refusal(
            f"{files} changed after it was applied; restore the file or accept it with `orchestrate repair`",
            changed[0].migration.file,
        )
    pending = tuple(s for s in plan.pending if to is None or s.migration.number <= to)
    late = [s for s in pending if s.out_of_order]
    if late and not allow_out_of_order:
        behind = [c.package for c in plan.copies if late[0].migration.name in c.missing]
        if behind and len(behind) < len(plan.copies):
            hint = catch_up_hint(plan, behind[0], out_of_order=True)
            return Refusal(
                f"{late[0].migration.file} is applied in another local copy but not in the one "
                f"in {', '.join(behind)}, where a later migration is; {hint}",
                late[0].migration.file,
            )
        return Refusal(
            f"{late[0].migration.file} is pending but numbered below a migration already applied; "
            "renumber it, or pass --allow-out-of-order",
            late[0].migration.file,
        )
    return pending


def migration_batch(
    database: Database,
    step: Step,
    names: LedgerNames,
    state: LedgerState,
    lock_owner: str | None = None,
    lock_expires: float = 0.0,
    bookmark: str | None = None,
) -> Batch:
    """The migration's statements plus its ledger rows: one atomic batch."""
    migration = step.migration
    statements = [Sql(s.text, (), migration.file, s.line) for s in split_executable(migration.sql)]
    entries = wrangler_entries(database, migration, state.foreign)
    statements += record_statements(
        names,
        migration.filename,
        migration.checksum,
        migration.source,
        entries,
        lock_owner,
        lock_expires,
        bookmark,
    )
    return Batch(tuple(statements), label=migration.file)


@dataclass(frozen=True)
class DatabaseWrite:
    """One atomic write of several migrations, guarded by the ledger it was planned from."""

    batch: Batch
    steps: tuple[Step, ...]
    expected: str  # the ledger fingerprint the write demands (``engines.guard``)

    @property
    def filenames(self) -> tuple[str, ...]:
        return tuple(s.migration.filename for s in self.steps)


def database_writes(
    database: Database,
    steps: Sequence[Step],
    names: LedgerNames,
    state: LedgerState,
    restore_point: str | None,
    split_bytes: int = WRITE_SPLIT_BYTES,
) -> tuple[DatabaseWrite, ...]:
    """``steps`` as one atomic write (several only where D1's limits need them).

    Each write fails whole if the ledger changed since ``state`` was read.
    ``restore_point`` (the time the run began writing) goes into each ledger row,
    where ``history`` and ``status`` find the undo command.
    """
    by_file = {s.migration.file: s for s in steps}
    expected = state_fingerprint(names, state)
    tables = guarded_tables(names, state)
    writes = []
    for group in group_for_limits([s.migration for s in steps], split_bytes):
        chosen = tuple(by_file[m.file] for m in group)
        statements = create_statements(names) + guard_statements(names, expected, tables)
        for step in chosen:
            statements += migration_batch(
                database, step, names, state, bookmark=restore_point
            ).statements
        label = f"{len(chosen)} migration(s) in one write, up to {group[-1].file}"
        writes.append(DatabaseWrite(Batch(tuple(statements), label=label), chosen, expected))
        expected = advance(expected, [m.filename for m in group])
    return tuple(writes)


def missing_wrangler_rows(
    database: Database, plan: DatabasePlan, state: LedgerState
) -> list[tuple[str, str]]:
    """(table, name) wrangler rows missing for applied migrations (renamed files)."""
    rows = []
    for step in plan.steps:
        if step.status is not Status.APPLIED:
            continue
        for table, name in wrangler_entries(database, step.migration, state.foreign):
            if name not in state.wrangler.get(table, frozenset()):
                rows.append((table, name))
    return rows


def sync_batch(database: Database, plan: DatabasePlan, state: LedgerState) -> Batch | None:
    """Wrangler rows missing for applied migrations (renamed files): add them so wrangler re-runs nothing."""
    statements = [
        Sql(f'INSERT OR IGNORE INTO "{table}" (name) VALUES (?)', (name,))
        for table, name in missing_wrangler_rows(database, plan, state)
    ]
    if not statements:
        return None
    return Batch(tuple(statements), label="sync wrangler ledger", retry_safe=True)


def synced(state: LedgerState, rows: Sequence[tuple[str, str]]) -> LedgerState:
    """The ledger state once the ``rows`` of ``missing_wrangler_rows`` committed."""
    if not rows:
        return state
    wrangler = {t: set(n) for t, n in state.wrangler.items()}
    for table, name in rows:
        wrangler.setdefault(table, set()).add(name)
    return replace(state, wrangler={t: frozenset(n) for t, n in wrangler.items()})


def planned_batches(
    plan: DatabasePlan,
    state: LedgerState,
    table: str,
    to: int | None,
    allow_out_of_order: bool,
    one_write: bool = False,
) -> list[Batch] | Refusal:
    """Every batch ``apply`` would run on this database, in order (for ``--dry-run``).

    ``one_write``: the pending migrations go as one guarded write (``--batch database``).
    """
    chosen = steps_to_apply(plan, to, allow_out_of_order)
    if isinstance(chosen, Refusal):
        return chosen
    names = ledger_names(plan.database, table)
    sync = sync_batch(plan.database, plan, state)
    batches = [sync] if sync is not None else []
    if one_write:
        state = synced(state, missing_wrangler_rows(plan.database, plan, state))
        writes = database_writes(plan.database, chosen, names, state, "<the run's start time>")
        return batches + [w.batch for w in writes]
    return batches + [migration_batch(plan.database, step, names, state) for step in chosen]


def restore_command(database: Database, bookmark: str) -> str:
    """The exact wrangler command that puts ``database`` back to ``bookmark`` (a Time
    Travel bookmark, or the RFC 3339 time a one-write run began: ``--timestamp``)."""
    words = ("wrangler", "d1", "time-travel", "restore", database.name, restore_flag(bookmark))
    return shell_command(*words, *(("--env", database.env) if database.env else ()))
