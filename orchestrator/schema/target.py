"""The two schemas ``verify`` compares: the one the applied migrations should have
produced (shadow replay) and the one a target really has (read through an engine).

The target is read with plain ``SELECT``s over ``sqlite_master`` and the PRAGMA
table-valued functions, in one read-only batch, so it works on every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrator.checks.schema import (
    SNAPSHOT_QUERIES,
    SchemaSnapshot,
    rows_in_order,
    snapshot_from_rows,
)
from orchestrator.checks.shadow import Failure, ReplayOptions, replay
from orchestrator.engines import Batch, Session, Sql
from orchestrator.engines.ledger import SEEDS_TABLE
from orchestrator.model import Database, Migration

EMPTY_SCHEMA = SchemaSnapshot((), ())
WRANGLER_DEFAULT_TABLE = "d1_migrations"


@dataclass(frozen=True)
class Expected:
    """The shadow schema after some migrations, or where the replay stopped."""

    schema: SchemaSnapshot
    failure: Failure | None = None


def replay_schema(migrations: Sequence[Migration]) -> Expected:
    """Replay ``migrations`` in order on a fresh shadow; the schema they leave."""
    result = replay(migrations, ReplayOptions(final=True))
    return Expected(result.final or EMPTY_SCHEMA, result.stopped)


def read_target_schema(session: Session) -> SchemaSnapshot:
    """The target's whole user schema, in one read-only batch."""
    batch = Batch(tuple(Sql(q.sql) for q in SNAPSHOT_QUERIES), label="read schema")
    result = session.run(batch)
    rows = [rows_in_order(q, r) for q, r in zip(SNAPSHOT_QUERIES, result.rows, strict=True)]
    return snapshot_from_rows(rows)


def ledger_filter(database: Database, ledger_table: str) -> Callable[[str], bool]:
    """True for the bookkeeping tables verify ignores: ours (``_migrations*``), the seeds
    ledger and wrangler's (every binding's ``migrations_table``)."""
    prefix = ledger_table.lower()
    exact = {b.migrations_table.lower() for b in database.bindings}
    exact |= {WRANGLER_DEFAULT_TABLE, SEEDS_TABLE}
    return lambda name: name.lower().startswith(prefix) or name.lower() in exact
