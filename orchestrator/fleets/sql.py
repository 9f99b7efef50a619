"""Pure: the exact batches a fleet run sends to a member, and how to read their rows.

The write's compare-and-swap: the batch first inserts the ledger fingerprint it
read (row count and last file name of ``_migrations``, row count of wrangler's
table) beside the fingerprint the database holds *now*, into a table whose CHECK
constraint demands they are equal. D1 runs a batch as one transaction, so if any
other run changed the ledger since the read, the CHECK fails and nothing of the
batch commits; the run re-reads and goes on. SQLite has no ``RAISE`` outside
triggers: a CHECK on an inserted row is the portable way to fail a batch on a
condition. Every ledger row is also a plain ``INSERT`` on a ``UNIQUE`` name.
"""

from __future__ import annotations

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

CAS_CONSTRAINT = "ledger_changed_since_read"
MAX_STATEMENT_BYTES = 100_000
# D1 stops a request after 30 s. Time cannot be known before sending, so a write is
# split when its SQL passes this size (far below what D1 runs in 30 s for DDL).
WRITE_SPLIT_BYTES = 1_000_000


def cas_table(names: LedgerNames) -> str:
    return f"{names.table}_cas"


def rollouts_table(names: LedgerNames) -> str:
    return f"{names.table}_rollouts"


def _fingerprint_sql(names: LedgerNames) -> str:
    own = quote_identifier(names.table)
    parts = [f"(SELECT count(*) || ':' || coalesce(max(filename), '') FROM {own})"]
    parts += [f"(SELECT count(*) FROM {quote_identifier(t)})" for t in names.wrangler_tables]
    return " || '|' || ".join(parts)


def fingerprint(rows: Sequence[AppliedRow], wrangler_counts: Sequence[int]) -> str:
    """The fingerprint ``_fingerprint_sql`` computes, from rows already read."""
    last = max((r.filename for r in rows), default="")
    return "|".join([f"{len(rows)}:{last}", *(str(n) for n in wrangler_counts)])


def _setup(names: LedgerNames) -> list[Sql]:
    own_ddl = create_statements(names)[0]
    wrangler = [Sql(WRANGLER_DDL.format(table=quote_identifier(t))) for t in names.wrangler_tables]
    return [
        own_ddl,
        *wrangler,
        Sql(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(cas_table(names))} (expected TEXT NOT NULL, "
            f"actual TEXT NOT NULL, CONSTRAINT {CAS_CONSTRAINT} CHECK (expected = actual))"
        ),
        Sql(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(rollouts_table(names))} "
            "(started_at TEXT PRIMARY KEY, fleet TEXT, finished_at TEXT DEFAULT (datetime('now')))"
        ),
    ]


def _reads(names: LedgerNames) -> list[Sql]:
    own = quote_identifier(names.table)
    statements = [Sql(f"SELECT filename, checksum FROM {own} ORDER BY id")]
    statements += [Sql(f"SELECT name FROM {quote_identifier(t)}") for t in names.wrangler_tables]
    statements.append(
        Sql(f"SELECT max(started_at) AS at FROM {quote_identifier(rollouts_table(names))}")
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
    last = rows[1 + count]
    at = last[0].get("at") if last else None
    schema = parse_schema(rows[2 + count :])
    return MemberState(
        member,
        merge_applied(own, wrangler),
        schema,
        fingerprint(own, [len(w) for w in wrangler]),
        at,
    )


def merge_applied(
    own: Sequence[AppliedRow], wrangler: Sequence[Sequence[str]]
) -> tuple[AppliedRow, ...]:
    """Applied migrations from both ledgers by canonical name (orchestrate's row wins)."""
    merged = {canonical_of(n): AppliedRow(n) for names in wrangler for n in names}
    merged |= {canonical_of(r.filename): r for r in own}
    return tuple(merged[k] for k in sorted(merged))


def parse_schema(rows: Sequence[Sequence[dict[str, object]]]) -> SchemaSnapshot:
    """A schema snapshot from the rows of ``SNAPSHOT_QUERIES``."""
    ordered = [rows_in_order(q, r) for q, r in zip(SNAPSHOT_QUERIES, rows, strict=True)]
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
    via_import: bool = False  # a statement past 100 KB: D1's import flow carries it


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
    for group in _groups(pending, split_bytes):
        after = advance(expected, group)
        writes.append(_write(names, group, expected, after, started_at, fleet, wrangler_tables))
        expected = after
    return tuple(writes)


def advance(expected: str, group: Sequence[Migration]) -> str:
    """The fingerprint once ``group`` committed: one more row per migration in each ledger
    (pending migrations are in neither, so wrangler's ``INSERT OR IGNORE`` adds each)."""
    own, *wrangler = expected.split("|")
    count, _, last = own.partition(":")
    last = max([last, *(m.filename for m in group)])
    grown = [str(int(n) + len(group)) for n in wrangler]
    return "|".join([f"{int(count) + len(group)}:{last}", *grown])


def _groups(pending: Sequence[Migration], split_bytes: int) -> list[list[Migration]]:
    groups: list[list[Migration]] = [[]]
    size = 0
    for migration in pending:
        length = len(migration.sql.encode("utf-8"))
        alone = oversized(migration)
        if groups[-1] and (alone or size + length > split_bytes or oversized(groups[-1][-1])):
            groups.append([])
            size = 0
        groups[-1].append(migration)
        size += length
    return [g for g in groups if g]


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
    statements.append(
        Sql(
            f"INSERT INTO {quote_identifier(cas_table(names))} (expected, actual) "
            f"VALUES (?, {_fingerprint_sql(names)})",
            (expected,),
        )
    )
    statements.append(Sql(f"DELETE FROM {quote_identifier(cas_table(names))}"))
    for migration in group:
        statements += [
            Sql(s.text, (), migration.file, s.line) for s in split_executable(migration.sql)
        ]
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
    return Write(Batch(tuple(statements), label=label), tuple(group), offset, after, big)


def oversized(migration: Migration) -> bool:
    """Does ``migration`` hold a statement past D1's 100 KB limit (the import flow's job)?"""
    return any(
        len(s.text.encode("utf-8")) > MAX_STATEMENT_BYTES for s in split_executable(migration.sql)
    )
