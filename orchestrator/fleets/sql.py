"""Pure: the exact batches a fleet run sends to a member, and how to read their rows.

The write's compare-and-swap is ``engines.guard`` (the same guard ``apply
--remote`` uses): the write fails whole if the member's ledger changed since the
read; the run re-reads and goes on. Every ledger row is also a plain ``INSERT``
on a ``UNIQUE`` name.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.checks.schema import (
    SNAPSHOT_QUERIES,
    SchemaSnapshot,
    rows_in_order,
    snapshot_from_rows,
)
from orchestrator.discovery.naming import canonical_of
from orchestrator.engines import Batch, BatchResult, Sql
from orchestrator.engines.guard import CAS_CONSTRAINT as CAS_CONSTRAINT
from orchestrator.engines.guard import WRITE_SPLIT_BYTES as WRITE_SPLIT_BYTES
from orchestrator.engines.guard import (
    advance,
    create_cas_statement,
    fingerprint,
    group_for_limits,
    guard_statements,
    oversized,
)
from orchestrator.engines.ledger import (
    WRANGLER_DDL,
    LedgerNames,
    create_statements,
    quote_identifier,
    record_statements,
)
from orchestrator.fleets.model import AppliedRow, Member, MemberState
from orchestrator.model import Migration
from orchestrator.sqltext import split_executable

# How many of a member's rollouts one read returns (the newest): enough for history.
ROLLOUTS_READ = 50


def rollouts_table(names: LedgerNames) -> str:
    return f"{names.table}_rollouts"


def _setup(names: LedgerNames) -> list[Sql]:
    own_ddl = create_statements(names)[0]
    wrangler = [Sql(WRANGLER_DDL.format(table=quote_identifier(t))) for t in names.wrangler_tables]
    return [
        own_ddl,
        *wrangler,
        create_cas_statement(names),
        Sql(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(rollouts_table(names))} "
            "(started_at TEXT PRIMARY KEY, fleet TEXT, finished_at TEXT DEFAULT (datetime('now')))"
        ),
    ]


def _reads(names: LedgerNames) -> list[Sql]:
    own = quote_identifier(names.table)
    statements = [Sql(f"SELECT filename, checksum FROM {own} ORDER BY id")]
    statements += [Sql(f"SELECT name FROM {quote_identifier(t)}") for t in names.wrangler_tables]
    # The rollouts that wrote this member, newest first (history and undo use them).
    statements.append(
        Sql(
            f"SELECT started_at AS at FROM {quote_identifier(rollouts_table(names))} "
            f"ORDER BY started_at DESC LIMIT {ROLLOUTS_READ}"
        )
    )
    return statements + [Sql(q.sql) for q in SNAPSHOT_QUERIES]


def read_batch(names: LedgerNames) -> Batch:
    """Apply's one read: make sure the ledgers exist, then read them and the schema."""
    return Batch(tuple(_setup(names) + _reads(names)), label="read ledger", retry_safe=True)


def read_only_batch(names: LedgerNames) -> Batch:
    """``plan``/``status``'s read: the same, without creating anything."""
    return Batch(tuple(_reads(names)), label="read ledger", retry_safe=True)


def schema_only_batch() -> Batch:
    """For a member whose ledgers do not exist yet (read-only commands only)."""
    return Batch(tuple(Sql(q.sql) for q in SNAPSHOT_QUERIES), label="read schema", retry_safe=True)


def parse_read(member: Member, names: LedgerNames, result: BatchResult, offset: int) -> MemberState:
    """The member's ledger, fingerprint, last rollout and schema from a read's rows."""
    rows = result.rows[offset:]
    own = tuple(AppliedRow(str(r["filename"]), r.get("checksum")) for r in rows[0])
    count = len(names.wrangler_tables)
    wrangler = [[str(r["name"]) for r in found if r.get("name")] for found in rows[1 : 1 + count]]
    rollouts = tuple(str(r["at"]) for r in rows[1 + count] if r.get("at"))
    schema = parse_schema(rows[2 + count :])
    return MemberState(
        member,
        merge_applied(own, wrangler),
        schema,
        fingerprint((r.filename for r in own), [len(w) for w in wrangler]),
        rollouts[0] if rollouts else None,
        rollouts=rollouts,
    )


def merge_applied(
    own: Sequence[AppliedRow], wrangler: Sequence[Sequence[str]]
) -> tuple[AppliedRow, ...]:
    """Applied migrations from both ledgers by canonical name (orchestrate's row wins)."""
    merged = {canonical_of(n): AppliedRow(n) for names in wrangler for n in names}
    merged |= {canonical_of(r.filename): r for r in own}
    return tuple(merged[k] for k in sorted(merged))


def parse_schema(rows: Sequence[Sequence[dict[str, object]]]) -> SchemaSnapshot:
    """A schema snapshot from the rows of ``SNAPSHOT_QUERIES``; equal rows give the very
    same snapshot object (members of a fleet mostly hold one schema: it is built once)."""
    ordered = tuple(tuple(rows_in_order(q, r)) for q, r in zip(SNAPSHOT_QUERIES, rows, strict=True))
    try:
        return _snapshot(ordered)
    except TypeError:  # a value that cannot be a key (not what D1 answers): no memo
        return snapshot_from_rows(ordered)


@functools.lru_cache(maxsize=256)
def _snapshot(ordered: tuple[tuple[tuple[object, ...], ...], ...]) -> SchemaSnapshot:
    return snapshot_from_rows(ordered)


def setup_count(names: LedgerNames) -> int:
    return len(_setup(names))


@dataclass(frozen=True)
class Write:
    """One atomic write: the migrations it carries, and where the schema rows start."""

    batch: Batch
    migrations: tuple[Migration, ...]
    schema_offset: int
    expected_after: str
    via_import: bool = False
    expected_before: str = ""  # a statement past 100 KB: D1's import flow carries it


@functools.lru_cache(maxsize=1024)
def migration_statements(sql: str, file: str) -> tuple[Sql, ...]:
    """A migration's statements, split once per run rather than once per member."""
    return tuple(Sql(s.text, (), file, s.line) for s in split_executable(sql))


def plan_writes(
    names: LedgerNames,
    state: MemberState,
    pending: Sequence[Migration],
    started_at: str,
    fleet: str,
    wrangler_tables: Sequence[str],
    split_bytes: int = WRITE_SPLIT_BYTES,
) -> tuple[Write, ...]:
    """The writes that bring a member up to date: one, unless D1's limits need more."""
    writes: list[Write] = []
    expected = state.fingerprint
    for group in group_for_limits(pending, split_bytes):
        after = advance(expected, [m.filename for m in group])
        writes.append(_write(names, group, expected, after, started_at, fleet, wrangler_tables))
        expected = after
    return tuple(writes)


def _write(
    names: LedgerNames,
    group: Sequence[Migration],
    expected: str,
    after: str,
    started_at: str,
    fleet: str,
    wrangler_tables: Sequence[str],
) -> Write:
    statements = _setup(names)
    # The CAS table was created by the setup above; its guard runs before anything changes.
    statements += guard_statements(names, expected, names.wrangler_tables)[1:]
    for migration in group:
        statements += migration_statements(migration.sql, migration.file)
        entries = [(t, migration.wrangler_name) for t in wrangler_tables]
        statements += record_statements(
            names, migration.filename, migration.checksum, migration.source, entries, None, 0.0
        )
    statements.append(
        Sql(
            f"INSERT OR IGNORE INTO {quote_identifier(rollouts_table(names))} (started_at, fleet) "
            "VALUES (?, ?)",
            (started_at, fleet),
        )
    )
    offset = len(statements)
    statements += [Sql(q.sql) for q in SNAPSHOT_QUERIES]
    label = f"{len(group)} migration(s) up to {group[-1].file}"
    big = any(oversized(m) for m in group)
    return Write(Batch(tuple(statements), label=label), tuple(group), offset, after, big, expected)
