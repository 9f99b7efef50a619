"""``orchestrate seed --set NAME``: data files kept apart from schema migrations.

Seeds live in ``seeds/<env>/NNNN_*.sql`` next to each ``migrations/`` directory that
feeds a database (``packages/x/seeds/dev/0001_test_users.sql``). They run in number
order, each file with its ledger row (``_seeds``) as one atomic batch, like apply;
each runs once per (env, file). A database is seeded only when fully migrated (no
pending or changed migration), under the same lock apply takes. Remote dev seeds are
refused without ``--yes``.

Databases come from ``[env.<env>]`` of the wrangler configs that define D1 bindings
there, and from the top-level bindings of every other config (dev usually has no env
section; top-level databases keep their ``seeds/production/``). Seed files that no
chosen database covers fail the run rather than being skipped in silence.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from orchestrator.discovery import check_env, discover_workspace
from orchestrator.discovery.sources import read_source
from orchestrator.engines import Batch, Engine, Session, Sql, Target
from orchestrator.engines.ledger import (
    LedgerState,
    read_ledger,
    read_seeds,
    release_lock_batch,
    seed_record_statement,
    seeds_create_statement,
)
from orchestrator.errors import BatchError, MigrationError, OrchestrateError, UsageError
from orchestrator.model import (
    AppliedMigration,
    Database,
    Migration,
    Problem,
    Result,
    RunResult,
    RunStatus,
    Severity,
    Workspace,
)
from orchestrator.planning import plan_database
from orchestrator.runner.batches import ledger_names
from orchestrator.runner.job import Owner, acquire_lock
from orchestrator.services import ApplyRequest, select_databases
from orchestrator.sqltext import split_executable

GUARDED_ENVS = frozenset({"dev"})


@dataclass(frozen=True)
class SeedRequest:
    """``seed``: which seed set, on which target, and whether remote dev seeds are meant."""

    target: ApplyRequest
    seed_env: str
    yes: bool = False
    dry_run: bool = False  # read only: say which seeds would run, run none


@dataclass(frozen=True)
class SeedSet:
    """One database's seed files in run order, and what is wrong with them."""

    database: Database
    seeds: tuple[Migration, ...]
    problems: tuple[Problem, ...]


def seed_databases(request: SeedRequest) -> RunResult:
    """Apply the pending seeds of every selected database that has some."""
    target = request.target
    guarded = request.seed_env in GUARDED_ENVS and not request.yes and not request.dry_run
    if target.remote and guarded:
        raise UsageError(
            f"refusing to run {request.seed_env!r} seeds on a remote database",
            hint="they are test data; pass --yes if you really mean it",
        )
    engine = target.make_engine()
    workspace, left_out = seed_workspace(target, request.seed_env)
    owner = Owner()
    results = [uncovered_result(target, d, request.seed_env) for d in left_out]
    for database in workspace.databases:
        found = seed_set(target, database, request.seed_env)
        if found.seeds or found.problems:
            results.append(seed_database(engine, found, request, owner))
    where = "remote" if engine.remote else "local"
    return RunResult(where, tuple(results), dry_run=request.dry_run)


def seed_workspace(request: ApplyRequest, seed_env: str) -> tuple[Workspace, tuple[Database, ...]]:
    """The databases to seed, and the top-level ones (or parts) that wrangler env
    ``seed_env`` replaces: a config with D1 bindings in ``[env.<seed_env>]`` uses those,
    every other config its top-level bindings. An explicit ``-e/--env`` names that wrangler
    env instead of ``seed_env``."""
    in_env = discover_workspace(request.settings, request.env or seed_env)
    if request.env is not None:
        check_env(in_env)
    top = discover_workspace(request.settings, None)
    env_configs = {b.config for d in in_env.databases for b in d.bindings}
    env_keys = {d.key for d in in_env.databases}
    kept, left_out = list(in_env.databases), []
    for database in top.databases:
        if database.key in env_keys:
            continue
        bindings = tuple(b for b in database.bindings if b.config not in env_configs)
        if bindings:
            kept.append(replace(database, bindings=bindings))
        if len(bindings) < len(database.bindings):
            dropped = tuple(b for b in database.bindings if b.config in env_configs)
            left_out.append(replace(database, bindings=dropped))
    chosen = select_databases(replace(in_env, databases=tuple(kept)), request.names)
    names = set(request.names)
    wanted = [d for d in left_out if not names or names & {d.name, d.key}]
    return chosen, _outside(request, chosen, seed_env, wanted)


def _outside(
    request: ApplyRequest, chosen: Workspace, seed_env: str, left_out: list[Database]
) -> tuple[Database, ...]:
    """The left-out databases with seed directories no chosen database reads."""
    covered = {d for db in chosen.databases for d in seed_dirs(db, seed_env)}
    result = []
    for database in left_out:
        dirs = [d for d in seed_dirs(database, seed_env) if d not in covered]
        if any((request.settings.root / d).glob("*.sql") for d in dirs):
            result.append(database)
    return tuple(result)


def uncovered_result(request: ApplyRequest, database: Database, seed_env: str) -> Result:
    """A failure for seed files of a database that ``seed --env`` does not seed."""
    configs = ", ".join(sorted({b.config for b in database.bindings}))
    found = seed_set(request, database, seed_env)
    first = found.seeds[0].file if found.seeds else None
    error = (
        f"seeds/{seed_env}/ files exist for {database.name}, but {configs} binds other "
        f"databases in [env.{seed_env}]; bind {database.name} there or move the files"
    )
    return Result(database.name, RunStatus.FAILED, error=error, file=first)


def seed_dirs(database: Database, seed_env: str) -> tuple[str, ...]:
    """``<parent of migrations dir>/seeds/<env>`` for each directory feeding ``database``."""
    dirs = []
    for source in database.sources:
        parent = PurePosixPath(source).parent
        dirs.append(str(parent / "seeds" / seed_env) if str(parent) != "." else f"seeds/{seed_env}")
    return tuple(dict.fromkeys(dirs))


def seed_set(request: ApplyRequest, database: Database, seed_env: str) -> SeedSet:
    """Read every seed file of ``database`` for ``seed_env``, ordered by number then file."""
    seeds: list[Migration] = []
    problems: list[Problem] = []
    package = database.bindings[0].package if database.bindings else "."
    for directory in seed_dirs(database, seed_env):
        source = read_source(request.settings.root, directory, package)
        seeds += source.migrations
        problems += [p for p in source.problems if p.is_error]
    seeds.sort(key=lambda m: (m.number, m.file))
    seen: dict[str, str] = {}
    for seed in seeds:
        if seed.filename in seen:
            message = f"two seed files are both {seed.filename} ({seen[seed.filename]}); rename one"
            problems.append(Problem(Severity.ERROR, "seed.duplicate", message, seed.file))
        seen.setdefault(seed.filename, seed.file)
    return SeedSet(database, tuple(seeds), tuple(problems))


def seed_database(engine: Engine, found: SeedSet, request: SeedRequest, owner: Owner) -> Result:
    """Seed every target of one database; never raises."""
    started = time.perf_counter()
    name = found.database.name
    if found.problems:
        first = found.problems[0]
        return Result(name, RunStatus.FAILED, error=first.message, file=first.file, line=first.line)
    try:
        targets = engine.targets(found.database)
    except OrchestrateError as exc:
        return Result(name, RunStatus.FAILED, error=exc.message, file=exc.file, line=exc.line)
    results = [_seed_target(engine, t, found, request, owner) for t in targets]
    chosen = next((r for r in results if not r), None) or max(results, key=lambda r: len(r.applied))
    labels = tuple(t for r in results for t in r.targets)
    return replace(chosen, targets=labels, seconds=time.perf_counter() - started)


def _seed_target(
    engine: Engine, target: Target, found: SeedSet, request: SeedRequest, owner: Owner
) -> Result:
    name, label = found.database.name, (target.label,)
    try:
        refusal = _not_migrated(engine, target, found.database, request)
        if refusal is not None:
            return Result(name, RunStatus.FAILED, error=refusal, targets=label)
        if request.dry_run:
            return _planned(engine, target, found, request.seed_env)
        return _locked_run(engine, target, found, request, owner)
    except OrchestrateError as exc:
        return Result(
            name, RunStatus.FAILED, error=exc.message, file=exc.file, line=exc.line, targets=label
        )


def _locked_run(
    engine: Engine, target: Target, found: SeedSet, request: SeedRequest, owner: Owner
) -> Result:
    names = ledger_names(found.database, request.target.settings.ledger_table)
    session = engine.open(target)
    try:
        state = acquire_lock(session, names, owner, request.target.options())
        return _run_seeds(session, target, found, request.seed_env, state)
    finally:
        # If this fails the lock expires on its own; the result already says what failed.
        with contextlib.suppress(OrchestrateError):
            session.run(release_lock_batch(names, owner.id))
        session.close()


def _not_migrated(
    engine: Engine, target: Target, database: Database, request: SeedRequest
) -> str | None:
    """Why ``target`` may not be seeded yet (read-only: a missing target is never created)."""
    state = None
    if engine.exists(target):
        session = engine.open(target, read_only=True)
        try:
            names = ledger_names(database, request.target.settings.ledger_table)
            state = read_ledger(session, names)
        finally:
            session.close()
    return migration_gap(database, state)


def migration_gap(database: Database, state: LedgerState | None) -> str | None:
    """``"not fully migrated: 3 migrations pending …"``, or None when nothing is."""
    plan = plan_database(database, state.rows if state else (), read=True)
    if plan.changed:
        file = plan.changed[0].migration.file
        return f"{file} changed after it was applied; seed once the ledger is clean"
    if plan.pending:
        count = len(plan.pending)
        return (
            f"not fully migrated: {count} migration{'s' if count != 1 else ''} pending "
            f"(first: {plan.pending[0].migration.file}); run `orchestrate apply` first"
        )
    return None


def _run_seeds(
    session: Session, target: Target, found: SeedSet, seed_env: str, state: LedgerState
) -> Result:
    name, label = found.database.name, (target.label,)
    gap = migration_gap(found.database, state)  # again, under the lock: apply may have run
    if gap is not None:
        return Result(name, RunStatus.FAILED, error=gap, targets=label)
    session.run(Batch((seeds_create_statement(),), "seeds ledger", retry_safe=True))
    pending, changed = _pending(session, found, seed_env)
    if changed is not None:
        return Result(name, RunStatus.FAILED, error=CHANGED, file=changed.file, targets=label)
    applied: list[AppliedMigration] = []
    for seed in pending:
        try:
            applied.append(_run_seed(session, seed, seed_env))
        except OrchestrateError as exc:
            return Result(
                name, RunStatus.FAILED, tuple(applied), exc.message, exc.file, exc.line, label
            )
    return Result(
        name, RunStatus.OK if applied else RunStatus.UP_TO_DATE, tuple(applied), targets=label
    )


CHANGED = "changed after it was seeded; seeds run once: restore it, or add a new seed file"


def _pending(
    session: Session, found: SeedSet, seed_env: str
) -> tuple[list[Migration], Migration | None]:
    """The seeds not yet run, in order, and the first one changed since it ran (if any)."""
    done = {row.filename: row for row in read_seeds(session, seed_env)}
    changed = next(
        (s for s in found.seeds if s.filename in done and done[s.filename].checksum != s.checksum),
        None,
    )
    return [s for s in found.seeds if s.filename not in done], changed


def _planned(engine: Engine, target: Target, found: SeedSet, seed_env: str) -> Result:
    """``--dry-run``: the seeds that would run (as ``applied``, each 0 ms), read only."""
    name, label = found.database.name, (target.label,)
    pending, changed = list(found.seeds), None
    if engine.exists(target):  # a database that does not exist yet has run no seed
        session = engine.open(target, read_only=True)
        try:
            pending, changed = _pending(session, found, seed_env)
        finally:
            session.close()
    if changed is not None:
        return Result(name, RunStatus.FAILED, error=CHANGED, file=changed.file, targets=label)
    would = tuple(AppliedMigration(s.name, s.file, 0.0) for s in pending)
    return Result(name, RunStatus.OK if would else RunStatus.UP_TO_DATE, would, targets=label)


def seed_batch(seed: Migration, seed_env: str) -> Batch:
    """The seed's statements and its ``_seeds`` row: one atomic batch."""
    statements = [Sql(s.text, (), seed.file, s.line) for s in split_executable(seed.sql)]
    statements.append(seed_record_statement(seed_env, seed.filename, seed.checksum, seed.source))
    return Batch(tuple(statements), label=seed.file)


def _run_seed(session: Session, seed: Migration, seed_env: str) -> AppliedMigration:
    batch = seed_batch(seed, seed_env)
    try:
        result = session.run(batch)
    except BatchError as exc:
        failing = batch.statements[exc.index] if exc.index is not None else None
        line = failing.line if failing is not None and failing.file else None
        raise MigrationError(exc.sqlite_message, file=seed.file, line=line) from None
    return AppliedMigration(seed.name, seed.file, result.duration_ms)
