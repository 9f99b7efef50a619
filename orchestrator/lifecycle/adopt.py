"""``orchestrate adopt``: infer how far a database without a ledger was migrated by hand.

The plan is replayed on a shadow (in memory, foreign keys on, as D1 runs it),
with a structural snapshot after every migration. The target's schema is read
through its engine, so local and remote work alike. The longest prefix whose
schema equals the target's is the baseline; if none equals it (drift, a
half-applied file, objects made by hand), adopt says so and records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.checks.shadow import Failure, ReplayOptions, replay
from orchestrator.engines import Batch, Engine, Session, Sql, Target
from orchestrator.engines.ledger import LedgerNames, LedgerState
from orchestrator.errors import TargetError, UsageError
from orchestrator.lifecycle.baseline import baseline_batch
from orchestrator.lifecycle.targets import BatchBuilder, TargetState, read_targets, write_locked
from orchestrator.model import Database, Migration
from orchestrator.planning import plan_database
from orchestrator.runner.batches import ledger_names
from orchestrator.schema.compare import (
    Fact,
    SchemaDiff,
    compare_facts,
    ordered,
    rebuild_schema,
    schema_facts,
)
from orchestrator.settings import Settings

RECORDED_BY = "orchestrate adopt"
SCHEMA_SQL = "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"


@dataclass(frozen=True)
class Prefixes:
    """The schema after each prefix of the plan: ``facts[k]`` after the first k migrations."""

    migrations: tuple[Migration, ...]
    facts: tuple[frozenset[Fact], ...]
    stopped: Failure | None = None


@dataclass(frozen=True)
class TargetAdoption:
    """What adopt found on one target. ``count`` migrations match when ``clean``;
    otherwise ``count`` is the closest prefix, shown as evidence only."""

    target: str
    state: str  # "matched", "drift", "empty", "tracked", "missing"
    count: int = 0
    diff: SchemaDiff | None = None
    unverifiable: tuple[Migration, ...] = ()
    record: tuple[Migration, ...] = ()

    @property
    def clean(self) -> bool:
        return self.state in ("matched", "empty", "tracked", "missing")


@dataclass(frozen=True)
class Adoption:
    """Adopt's verdict on every target of one database."""

    database: str
    migrations: tuple[Migration, ...]
    targets: tuple[TargetAdoption, ...]
    written: bool
    stopped: Failure | None = None

    @property
    def clean(self) -> bool:
        return all(t.clean for t in self.targets)


def replay_prefixes(database: Database) -> Prefixes:
    """Replay the plan on a shadow, snapshotting after each migration."""
    plan = plan_database(database, None)
    broken = [p for p in plan.problems if p.is_error]
    if broken:
        raise UsageError(f"{database.name}: {broken[0].message}", hint="fix the plan first")
    migrations = tuple(s.migration for s in plan.steps)
    ran = replay(migrations, ReplayOptions(final=False, after=lambda _: True))
    facts = [frozenset[Fact]()]
    facts += [schema_facts(step.after) for step in ran.steps if step.after is not None]
    return Prefixes(migrations[: len(facts) - 1], tuple(facts), ran.stopped)


def judge(target: str, prefixes: Prefixes, actual: frozenset[Fact]) -> TargetAdoption:
    """The longest prefix whose schema equals ``actual``; else the closest, as drift."""
    equal = [k for k, facts in enumerate(prefixes.facts) if facts == actual]
    if not actual:
        return TargetAdoption(target, "empty", 0, compare_facts(prefixes.facts[0], actual))
    if not equal:
        closest = min(
            range(len(prefixes.facts)), key=lambda k: (len(prefixes.facts[k] ^ actual), -k)
        )
        return TargetAdoption(
            target, "drift", closest, compare_facts(prefixes.facts[closest], actual)
        )
    count = max(equal)
    after = prefixes.facts[count + 1] if count + 1 < len(prefixes.facts) else prefixes.facts[count]
    diff = compare_facts(prefixes.facts[count], actual)
    # What the next migration would add, and the target lacks: why it cannot have run.
    diff = SchemaDiff(diff.matched, ordered(after - actual), diff.extra)
    unproven = unverifiable(prefixes, count)
    # Record up to the last migration the schema proves. Data-only ones before it ran (hand
    # runs go in order; they are flagged to check); trailing ones cannot be told apart, so
    # they stay pending and apply runs them (lint requires them to be re-runnable).
    proven = count
    while proven and prefixes.migrations[proven - 1] in unproven:
        proven -= 1
    return TargetAdoption(target, "matched", count, diff, unproven, prefixes.migrations[:proven])


def unverifiable(prefixes: Prefixes, count: int) -> tuple[Migration, ...]:
    """Migrations of the prefix that change no structure: the schema cannot prove they ran."""
    return tuple(
        prefixes.migrations[k - 1]
        for k in range(1, count + 1)
        if prefixes.facts[k] == prefixes.facts[k - 1]
    )


def read_schema(session: Session, ignore: Sequence[str]) -> frozenset[Fact]:
    """The target's structure, measured like the shadow's (ledger tables left out)."""
    rows = session.run(Batch((Sql(SCHEMA_SQL),), label="read schema")).rows[0]
    triples = [(str(r["type"]), str(r["name"]), r.get("sql")) for r in rows]
    try:
        return schema_facts(rebuild_schema(triples, ignore))
    except ValueError as exc:
        raise TargetError(str(exc)) from None


def inspect_target(
    engine: Engine, found: TargetState, prefixes: Prefixes, names: LedgerNames
) -> TargetAdoption:
    """Judge one target without writing anything."""
    label = found.target.label
    if not found.exists:
        return TargetAdoption(label, "missing")
    if found.state.rows:
        return TargetAdoption(label, "tracked", len(found.state.rows))
    session = engine.open(found.target, read_only=True)
    try:
        actual = read_schema(session, (*names.all_tables, names.history_table))
    finally:
        session.close()
    return judge(label, prefixes, actual)


def inspect_database(engine: Engine, database: Database, settings: Settings) -> Adoption:
    """Adopt's verdict for every target of ``database``; reads only."""
    prefixes = replay_prefixes(database)
    names = ledger_names(database, settings.ledger_table)
    targets = tuple(
        inspect_target(engine, found, prefixes, names)
        for found in read_targets(engine, database, settings)
    )
    return Adoption(database.name, prefixes.migrations, targets, False, prefixes.stopped)


def adopt_database(engine: Engine, database: Database, settings: Settings, write: bool) -> Adoption:
    """Inspect; with ``write`` and a clean verdict everywhere, record each target's baseline."""
    adoption = inspect_database(engine, database, settings)
    if not write or not adoption.clean:
        return adoption
    chosen = {t.target: t.record for t in adoption.targets if t.state == "matched" and t.record}
    if chosen:
        names = ledger_names(database, settings.ledger_table)
        write_locked(engine, database, settings, _builder(database, names, chosen))
    return Adoption(database.name, adoption.migrations, adoption.targets, True, adoption.stopped)


def _builder(
    database: Database, names: LedgerNames, chosen: dict[str, tuple[Migration, ...]]
) -> BatchBuilder:
    def build(target: Target, state: LedgerState) -> Batch | None:
        record = chosen.get(target.label)
        if record is None:
            return None
        if state.rows:  # someone applied or baselined meanwhile: the inference is stale
            raise TargetError(
                f"{database.name} ({target.label}) got a ledger while adopt ran; run adopt again"
            )
        return baseline_batch(database, record, names, state, RECORDED_BY)

    return build
