"""The two schemas ``verify`` compares: the one the applied migrations should have
produced (shadow replay) and the one a target really has (read through an engine).

The target is read with plain ``SELECT``s over ``sqlite_master`` and the PRAGMA
table-valued functions, in one read-only batch, so it works on every engine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrator.checks.schema import (
    SNAPSHOT_QUERIES,
    SchemaSnapshot,
    Table,
    rows_in_order,
    snapshot_from_rows,
    snapshot_schema,
)
from orchestrator.checks.shadow import (
    Failure,
    ReplayOptions,
    as_parsed,
    open_shadow,
    replay,
    run_script,
)
from orchestrator.engines import Batch, Session, Sql
from orchestrator.engines.ledger import SEEDS_TABLE
from orchestrator.errors import UsageError
from orchestrator.model import Database, Migration
from orchestrator.schema.ddl import renamed_create, taken_names, unused_name

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
    batch = Batch(tuple(Sql(q.sql) for q in SNAPSHOT_QUERIES), label="read schema", retry_safe=True)
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


def open_replayed(migrations: Sequence[Migration]) -> sqlite3.Connection:
    """A shadow connection with ``migrations`` applied; a usage error names the one that fails."""
    conn = open_shadow()
    for migration in migrations:
        failure = run_script(conn, as_parsed(migration))
        if failure is not None:
            conn.close()
            raise UsageError(
                f"the shadow replay fails here: {failure.message}",
                file=failure.file,
                line=failure.line,
                hint="`orchestrate check` shows why; fix the migrations first",
            )
    return conn


def describe_definition(conn: sqlite3.Connection, sql: str) -> Table:
    """The table a ``CREATE TABLE`` statement defines, as SQLite reads it (nothing is kept)."""
    scratch = unused_name("orchestrate_definition", taken_names(snapshot_schema(conn)))
    conn.execute("SAVEPOINT orchestrate_definition")
    try:
        conn.execute(renamed_create(sql, scratch))
        table = snapshot_schema(conn).table(scratch)
    except sqlite3.Error as exc:
        raise UsageError(f"SQLite refuses the new definition: {exc}") from None
    finally:
        conn.execute("ROLLBACK TO orchestrate_definition")
        conn.execute("RELEASE orchestrate_definition")
    assert table is not None
    return table
