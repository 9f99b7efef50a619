"""Per-target reads and locked writes shared by ``baseline``, ``adopt``, ``repair``
and ``normalize --sync-ledgers``.

Local databases have one copy per binding package, and those copies may differ,
so these commands look at (and write to) each target on its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from orchestrator.discovery import workspace_tree
from orchestrator.discovery.wrangler import read_config
from orchestrator.engines import Batch, Engine, Session, Target
from orchestrator.engines.ledger import (
    EMPTY_STATE,
    LedgerNames,
    LedgerState,
    read_ledger,
    release_lock_batch,
)
from orchestrator.errors import OrchestrateError
from orchestrator.model import Database
from orchestrator.runner.batches import ledger_names
from orchestrator.runner.job import ApplyOptions, Owner, acquire_lock
from orchestrator.services import load_workspace
from orchestrator.settings import Settings

BatchBuilder = Callable[[Target, LedgerState], Batch | None]


@dataclass(frozen=True)
class TargetState:
    """One copy of a database and what its ledgers say."""

    target: Target
    state: LedgerState
    exists: bool = True


@dataclass(frozen=True)
class Written:
    """What a locked write did on one target (``batch`` is None when nothing was needed)."""

    target: Target
    batch: Batch | None


def read_targets(engine: Engine, database: Database, settings: Settings) -> tuple[TargetState, ...]:
    """Each target's ledgers, read without writing anything (a missing target is empty)."""
    names = ledger_names(database, settings.ledger_table)
    found = []
    for target in engine.targets(database):
        if not engine.exists(target):
            found.append(TargetState(target, EMPTY_STATE, exists=False))
            continue
        session = engine.open(target, read_only=True)
        try:
            found.append(TargetState(target, read_ledger(session, names)))
        finally:
            session.close()
    return tuple(found)


def write_locked(
    engine: Engine, database: Database, settings: Settings, build: BatchBuilder
) -> tuple[Written, ...]:
    """On every existing target: take the apply lock, re-read the ledgers, run ``build``'s batch.

    A target that does not exist yet has had nothing applied, so it is left alone.
    The batch rides in the same round trip as the lock release, so it commits whole
    or not at all, and no ``apply`` can interleave with it.
    """
    names = ledger_names(database, settings.ledger_table)
    options = ApplyOptions(settings.ledger_table, lock_timeout=settings.lock_timeout)
    owner = Owner()
    written = []
    for target in engine.targets(database):
        if not engine.exists(target):
            continue
        session = engine.open(target)
        try:
            state = acquire_lock(session, names, owner, options)
            written.append(_write(session, names, owner, Written(target, None), build, state))
        finally:
            session.close()
    return tuple(written)


def _write(
    session: Session,
    names: LedgerNames,
    owner: Owner,
    written: Written,
    build: BatchBuilder,
    state: LedgerState,
) -> Written:
    try:
        batch = build(written.target, state)
        session.run(release_lock_batch(names, owner.id, batch.statements if batch else ()))
    except BaseException:
        # Nothing of the batch committed; free the lock on its own before reporting.
        with contextlib.suppress(OrchestrateError):
            session.run(release_lock_batch(names, owner.id))
        raise
    return replace(written, batch=batch)


def find_database(settings: Settings, env: str | None, name: str) -> Database:
    """The one database called ``name`` (by name or id) in ``env``."""
    return load_workspace(settings, env, (name,)).databases[0]


def discover_envs(settings: Settings) -> tuple[str, ...]:
    """Every ``[env.NAME]`` that binds D1 somewhere in the workspace, sorted."""
    tree = workspace_tree(settings)
    found = {
        env
        for config in tree.configs
        for env in read_config(settings.root, config, None).envs_with_d1
    }
    return tuple(sorted(found))


def discover_everything(settings: Settings) -> tuple[tuple[str, ...], tuple[Database, ...]]:
    """Every env that binds D1, and the databases of the default config and of each env."""
    envs = discover_envs(settings)
    databases = tuple(db for env in (None, *envs) for db in load_workspace(settings, env).databases)
    return envs, databases
