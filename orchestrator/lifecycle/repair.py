"""``orchestrate repair``: accept a migration file's changed checksum after review.

The ledger row gets the file's new checksum; the old one is kept in the ledger's
history table (``<ledger>_history``) with who accepted it and when, in the same
atomic batch, under the apply lock.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass

from orchestrator import __version__
from orchestrator.discovery.naming import canonical_of
from orchestrator.engines import Batch, Engine, Sql, Target
from orchestrator.engines.ledger import LedgerState, accept_checksum_statements
from orchestrator.errors import UsageError
from orchestrator.lifecycle.targets import read_targets, write_locked
from orchestrator.model import Database, Migration, Status
from orchestrator.planning import plan_database
from orchestrator.runner.batches import ledger_names
from orchestrator.settings import Settings


@dataclass(frozen=True)
class Accepted:
    """One changed checksum accepted (or to accept) on one target."""

    target: str
    file: str
    old: str | None
    new: str


@dataclass(frozen=True)
class Repair:
    """Everything ``repair`` accepted on one database; ``written`` is False for a dry run."""

    database: str
    accepted: tuple[Accepted, ...]
    written: bool


def changed_pairs(
    database: Database, state: LedgerState, only: str | None
) -> list[tuple[Migration, str, str | None]]:
    """``(migration, ledger filename, recorded checksum)`` for each changed migration."""
    rows = {canonical_of(r.name): r for r in state.own}
    plan = plan_database(database, state.rows, read=True)
    pairs = []
    for step in plan.steps:
        m = step.migration
        if step.status is Status.CHANGED and (only is None or names_file(m, only)):
            row = rows[m.name]
            pairs.append((m, row.name, row.checksum))
    return pairs


def names_file(migration: Migration, given: str) -> bool:
    """``--file`` may be the path, the file name or the canonical name."""
    given = given.removeprefix("./")
    return (
        given in (migration.file, migration.wrangler_name) or canonical_of(given) == migration.name
    )


def check_file(database: Database, given: str | None) -> None:
    """A ``--file`` that names no migration of the database is a usage error."""
    if given is not None and not any(names_file(m, given) for m in database.migrations):
        raise UsageError(
            f"{database.name} has no migration {given!r}", hint="see `orchestrate plan`"
        )


def preview_repair(
    engine: Engine, database: Database, settings: Settings, only: str | None = None
) -> Repair:
    """What ``repair --yes`` would accept on each target; reads only."""
    check_file(database, only)
    accepted = [
        Accepted(found.target.label, m.file, old, m.checksum)
        for found in read_targets(engine, database, settings)
        for m, _, old in changed_pairs(database, found.state, only)
    ]
    return Repair(database.name, tuple(accepted), written=False)


def record_repair(
    engine: Engine, database: Database, settings: Settings, only: str | None = None
) -> Repair:
    """Accept the changed checksums on every target, keeping the old ones in the history."""
    check_file(database, only)
    names = ledger_names(database, settings.ledger_table)
    accepted: list[Accepted] = []
    by = accepted_by()

    def build(target: Target, state: LedgerState) -> Batch | None:
        statements: list[Sql] = []
        for m, filename, old in changed_pairs(database, state, only):
            statements += accept_checksum_statements(names, filename, old, m.checksum, by)
            accepted.append(Accepted(target.label, m.file, old, m.checksum))
        return Batch(tuple(statements), label=f"repair {database.name}") if statements else None

    write_locked(engine, database, settings, build)
    return Repair(database.name, tuple(accepted), written=True)


def accepted_by() -> str:
    """Who accepted a change, for the history: tool version, user and host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = "unknown"
    return f"orchestrate {__version__} ({user}@{socket.gethostname()})"
