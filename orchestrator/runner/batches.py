"""Pure: turn planned steps into the exact batches an engine runs.

``apply --dry-run`` prints these very batches; ``apply`` executes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.engines import Batch, Sql
from orchestrator.engines.ledger import LedgerNames, LedgerState, record_statements
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


def sync_batch(database: Database, plan: DatabasePlan, state: LedgerState) -> Batch | None:
    """Wrangler rows missing for applied migrations (renamed files): add them so wrangler re-runs nothing."""
    statements = []
    for step in plan.steps:
        if step.status is not Status.APPLIED:
            continue
        for table, name in wrangler_entries(database, step.migration, state.foreign):
            if name not in state.wrangler.get(table, frozenset()):
                statements.append(
                    Sql(f'INSERT OR IGNORE INTO "{table}" (name) VALUES (?)', (name,))
                )
    if not statements:
        return None
    return Batch(tuple(statements), label="sync wrangler ledger", retry_safe=True)


def planned_batches(
    plan: DatabasePlan, state: LedgerState, table: str, to: int | None, allow_out_of_order: bool
) -> list[Batch] | Refusal:
    """Every batch ``apply`` would run on this database, in order (for ``--dry-run``)."""
    chosen = steps_to_apply(plan, to, allow_out_of_order)
    if isinstance(chosen, Refusal):
        return chosen
    names = ledger_names(plan.database, table)
    sync = sync_batch(plan.database, plan, state)
    batches = [sync] if sync is not None else []
    return batches + [migration_batch(plan.database, step, names, state) for step in chosen]
