"""``orchestrate baseline``: record migrations up to NNNN as applied, without running them.

For databases migrated by hand before tracking existed. Both ledgers get their
rows (orchestrate's with the checksum, wrangler's under its file name) in one
atomic batch per target, under the apply lock. ``adopt`` records its inferred
baseline through the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.engines import Batch, Engine, Sql, Target
from orchestrator.engines.ledger import LedgerNames, LedgerState, record_statements
from orchestrator.errors import UsageError
from orchestrator.lifecycle.targets import read_targets, write_locked
from orchestrator.model import Database, DatabasePlan, Migration, Status
from orchestrator.planning import plan_database
from orchestrator.runner.batches import ledger_names, wrangler_entries
from orchestrator.settings import Settings

RECORDED_BY = "orchestrate baseline"


@dataclass(frozen=True)
class TargetBaseline:
    """What a baseline records (or would record) on one target."""

    target: str
    exists: bool
    record: tuple[Migration, ...]
    already: int = 0


@dataclass(frozen=True)
class Baseline:
    """A baseline of one database, per target; ``written`` is False for a dry run."""

    database: str
    to: int
    targets: tuple[TargetBaseline, ...]
    written: bool


def check_to(database: Database, to: int) -> None:
    """``--to`` must name a migration of the database (a typo must not record everything)."""
    if not any(m.number == to for m in database.migrations):
        highest = max((m.number for m in database.migrations if m.numbered), default=0)
        raise UsageError(
            f"{database.name} has no migration numbered {to:04d}",
            hint=f"its migrations run from 0001 to {highest:04d}",
        )


def steps_up_to(plan: DatabasePlan, to: int) -> tuple[Migration, ...]:
    """Pending migrations numbered ``to`` or below, in plan order."""
    _refuse_broken(plan)
    return tuple(
        s.migration for s in plan.steps if s.status is Status.PENDING and s.migration.number <= to
    )


def _refuse_broken(plan: DatabasePlan) -> None:
    # A changed file is not ours to judge here; duplicates and cycles make "up to" ambiguous.
    broken = [p for p in plan.problems if p.is_error and p.code != "ledger.changed"]
    if broken:
        raise UsageError(
            f"{plan.database.name}: {broken[0].message}",
            hint="fix the plan first (`orchestrate plan`)",
        )


def baseline_batch(
    database: Database,
    migrations: Sequence[Migration],
    names: LedgerNames,
    state: LedgerState,
    recorded_by: str = RECORDED_BY,
) -> Batch | None:
    """Ledger rows (both ledgers) for ``migrations``, as one atomic batch; None when empty."""
    statements: list[Sql] = []
    for m in migrations:
        entries = wrangler_entries(database, m, state.foreign)
        statements += record_statements(
            names, m.filename, m.checksum, m.source, entries, None, 0.0,
            applied_by=recorded_by, elapsed=None,
        )  # fmt: skip
    return Batch(tuple(statements), label=f"baseline {database.name}") if statements else None


def preview_baseline(engine: Engine, database: Database, settings: Settings, to: int) -> Baseline:
    """What ``baseline`` would record on each target; reads only."""
    check_to(database, to)
    targets = []
    for found in read_targets(engine, database, settings):
        plan = plan_database(database, found.state.rows, read=True)
        record = steps_up_to(plan, to) if found.exists else ()
        targets.append(TargetBaseline(found.target.label, found.exists, record, _applied(plan, to)))
    return Baseline(database.name, to, tuple(targets), written=False)


def record_baseline(
    engine: Engine,
    database: Database,
    settings: Settings,
    to: int,
    recorded_by: str = RECORDED_BY,
) -> Baseline:
    """Record migrations up to ``to`` as applied on every existing target, under the lock."""
    check_to(database, to)
    names = ledger_names(database, settings.ledger_table)
    done: dict[str, TargetBaseline] = {}

    def build(target: Target, state: LedgerState) -> Batch | None:
        plan = plan_database(database, state.rows, read=True)
        record = steps_up_to(plan, to)
        done[target.label] = TargetBaseline(target.label, True, record, _applied(plan, to))
        return baseline_batch(database, record, names, state, recorded_by)

    write_locked(engine, database, settings, build)
    targets = tuple(
        done.get(t.label, TargetBaseline(t.label, False, ())) for t in engine.targets(database)
    )
    return Baseline(database.name, to, targets, written=True)


def _applied(plan: DatabasePlan, to: int) -> int:
    return sum(1 for s in plan.steps if s.status is not Status.PENDING and s.migration.number <= to)
