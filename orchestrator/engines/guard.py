"""The write guard: a write fails whole if the ledger changed since the read.

One implementation, used by ``apply --remote`` (one write per database) and by
fleet rollouts (one write per member). The write starts by inserting the ledger
fingerprint it read (row count and last file name of orchestrate's ledger, row
count of each wrangler table) beside the fingerprint the database holds *now*,
into a table whose CHECK constraint demands they are equal. D1 runs a batch as
one transaction, so if any writer (wrangler, another orchestrate, a hand-run
``d1 execute``) changed a ledger since the read, the CHECK fails and nothing of
the write commits. SQLite has no ``RAISE`` outside triggers: a CHECK on an
inserted row is the portable way to fail a batch on a condition.

Every ledger row the write carries is also a plain ``INSERT`` on a ``UNIQUE``
name (``engines.ledger.record_statements``), so even a writer the fingerprint
could not see cannot make a migration run twice.

A write that fails, or whose answer is lost, is settled by reading the ledger
again (:func:`settle_write`): the ledger is the truth.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Sequence

from orchestrator.discovery.naming import canonical_of
from orchestrator.engines import Sql
from orchestrator.engines.ledger import LedgerNames, LedgerState, quote_identifier
from orchestrator.errors import BatchError
from orchestrator.model import Migration
from orchestrator.sqltext import split_executable

CAS_CONSTRAINT = "ledger_changed_since_read"
MAX_STATEMENT_BYTES = 100_000
# D1 stops a request after 30 s. Time cannot be known before sending, so a write is
# split when its SQL passes this size (far below what D1 runs in 30 s for DDL).
WRITE_SPLIT_BYTES = 1_000_000


def cas_table(names: LedgerNames) -> str:
    """The table whose CHECK fails a write that read a stale ledger."""
    return f"{names.table}_cas"


def create_cas_statement(names: LedgerNames) -> Sql:
    return Sql(
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(cas_table(names))} (expected TEXT NOT NULL, "
        f"actual TEXT NOT NULL, CONSTRAINT {CAS_CONSTRAINT} CHECK (expected = actual))"
    )


def fingerprint_sql(names: LedgerNames, wrangler_tables: Sequence[str]) -> str:
    """The SQL expression of the ledger's fingerprint (the ledgers must exist)."""
    own = quote_identifier(names.table)
    parts = [f"(SELECT count(*) || ':' || coalesce(max(filename), '') FROM {own})"]
    parts += [f"(SELECT count(*) FROM {quote_identifier(t)})" for t in wrangler_tables]
    return " || '|' || ".join(parts)


def fingerprint(own_filenames: Iterable[str], wrangler_counts: Sequence[int]) -> str:
    """The fingerprint :func:`fingerprint_sql` computes, from rows already read."""
    names = list(own_filenames)
    last = max(names, default="")
    return "|".join([f"{len(names)}:{last}", *(str(n) for n in wrangler_counts)])


def guarded_tables(names: LedgerNames, state: LedgerState) -> tuple[str, ...]:
    """Wrangler tables the fingerprint covers: every one but a foreign table left alone."""
    return tuple(t for t in names.wrangler_tables if t not in state.foreign)


def state_fingerprint(names: LedgerNames, state: LedgerState) -> str:
    """The fingerprint of a ``LedgerState`` as ``engines.ledger.read_ledger`` read it."""
    counts = [len(state.wrangler.get(t, ())) for t in guarded_tables(names, state)]
    return fingerprint((r.name for r in state.own), counts)


def guard_statements(
    names: LedgerNames, expected: str, wrangler_tables: Sequence[str]
) -> list[Sql]:
    """The write's first statements: fail whole unless the ledger still has ``expected``.

    The ledgers themselves must exist before these run (``CREATE TABLE IF NOT
    EXISTS`` earlier in the same write).
    """
    table = quote_identifier(cas_table(names))
    return [
        create_cas_statement(names),
        Sql(
            f"INSERT INTO {table} (expected, actual) VALUES (?, {fingerprint_sql(names, wrangler_tables)})",
            (expected,),
        ),
        Sql(f"DELETE FROM {table}"),
    ]


def advance(expected: str, filenames: Sequence[str]) -> str:
    """The fingerprint once a write carrying ``filenames`` committed: one row more per
    migration in each ledger (pending migrations are in neither)."""
    own, *wrangler = expected.split("|")
    count, _, last = own.partition(":")
    last = max([last, *filenames])
    grown = [str(int(n) + len(filenames)) for n in wrangler]
    return "|".join([f"{int(count) + len(filenames)}:{last}", *grown])


def lost_race(exc: BatchError) -> bool:
    """Did a write fail on the guard (the ledger changed since the read)?"""
    return CAS_CONSTRAINT in exc.sqlite_message


class Settled(enum.Enum):
    """What a failed or unanswered write did, as the ledger read afterwards shows."""

    COMMITTED = "committed"  # every migration of the write is in our own ledger
    UNCHANGED = "unchanged"  # the ledger is as read: nothing of the write committed
    CHANGED = "changed"  # another writer changed the ledger: plan again from the new read


def settle_write(
    before: str, now: str, written: Sequence[str], own_after: Iterable[str]
) -> Settled:
    """Settle a write of the migrations ``written`` (file names) by the ledger read after it.

    ``before`` is the fingerprint the write expected, ``now`` the fingerprint just
    read, ``own_after`` the file names orchestrate's ledger holds now.
    """
    ours = {canonical_of(n) for n in own_after}
    if written and all(canonical_of(n) in ours for n in written):
        return Settled.COMMITTED
    return Settled.UNCHANGED if now == before else Settled.CHANGED


def group_for_limits(pending: Sequence[Migration], split_bytes: int) -> list[list[Migration]]:
    """Consecutive migrations in as few writes as D1's limits allow: a write stays under
    ``split_bytes``, and a migration with a statement past 100 KB goes alone."""
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


def oversized(migration: Migration) -> bool:
    """Does ``migration`` hold a statement past D1's 100 KB limit (the import flow's job)?"""
    return _has_oversized(migration.sql)


@functools.lru_cache(maxsize=256)
def _has_oversized(sql: str) -> bool:
    # A fleet asks this of the same few migrations for every member: split each once.
    if len(sql) <= MAX_STATEMENT_BYTES // 4:  # at most 4 bytes a character in UTF-8
        return False
    return any(len(s.text.encode("utf-8")) > MAX_STATEMENT_BYTES for s in split_executable(sql))
