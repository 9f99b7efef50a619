"""The ledgers, as SQL every engine runs the same way.

- ``_migrations`` (the strategy document's table, name configurable) holds the
  canonical file name, checksum, time taken and the source directory.
- ``_migrations_lock`` holds at most one row: who is applying to this database.
- Wrangler's table (``d1_migrations`` or the binding's ``migrations_table``)
  gets a row under wrangler's own name for each migration orchestrate applies,
  in the same atomic batch, so neither tool ever runs a migration twice.

Exactly once, against every writer (the compare-and-swap other code builds on):
every ledger row a migration's batch writes is a plain ``INSERT`` on a UNIQUE
name (``_migrations.filename``, wrangler's ``name``), never ``INSERT OR
IGNORE``. If any writer (wrangler, its test harness, a second orchestrate whose
lock expired) recorded the migration first, the INSERT fails and the whole
batch, the migration's own statements included, rolls back, on D1 and locally.
The caller then settles the conflict with :func:`settle_conflict`: re-read the
ledger, and if the migration is recorded there it was applied by that other
writer (skip it and say so); if not, the failure was the migration's own.

Values always travel as parameters; table names are validated identifiers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator import __version__
from orchestrator.discovery.naming import canonical_of
from orchestrator.engines import Batch, BatchResult, Session, Sql
from orchestrator.errors import BatchError, TargetError
from orchestrator.model import LedgerRow, Problem

WRANGLER_COLUMNS = frozenset({"id", "name", "applied_at"})
WRANGLER_DDL = (
    "CREATE TABLE IF NOT EXISTS {table}(\n"
    "\t\tid         INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "\t\tname       TEXT UNIQUE,\n"
    "\t\tapplied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL\n"
    ")"
)


class Elapsed:
    """Placeholder parameter: the engine puts the batch's elapsed milliseconds here
    (or NULL where it cannot know them before the batch commits)."""

    def __repr__(self) -> str:
        return "<elapsed ms>"


ELAPSED_MS = Elapsed()


def quote_identifier(name: str) -> str:
    """Quote a (validated) SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class LedgerNames:
    """The tables one database's ledgers live in."""

    table: str
    wrangler_tables: tuple[str, ...]

    @property
    def lock_table(self) -> str:
        return f"{self.table}_lock"

    @property
    def history_table(self) -> str:
        return f"{self.table}_history"

    @property
    def all_tables(self) -> tuple[str, ...]:
        return (self.table, self.lock_table, *self.wrangler_tables)


@dataclass(frozen=True)
class LockInfo:
    """The lock row: who holds the database, until when."""

    owner: str
    host: str
    pid: int
    acquired_at: str
    expires_at: float

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at < (now if now is not None else time.time())


@dataclass(frozen=True)
class LedgerState:
    """What a target's ledgers say."""

    own: tuple[LedgerRow, ...]
    wrangler: dict[str, frozenset[str]]
    foreign: tuple[str, ...]
    lock: LockInfo | None
    exists: bool = True
    problem: Problem | None = None  # why the ledger could not be read, if it could not
    # Each copy's own state (label, state), when several copies were merged into this one.
    copies: tuple[tuple[str, LedgerState], ...] = ()
    own_table: bool = False  # orchestrate's ledger table exists (it may still be empty)

    @property
    def rows(self) -> tuple[LedgerRow, ...]:
        """Applied migrations from both ledgers, by canonical name (orchestrate's row wins)."""
        merged = {
            canonical_of(r.name): r
            for names in self.wrangler.values()
            for r in map(LedgerRow, names)
        }
        merged |= {canonical_of(r.name): r for r in self.own}
        return tuple(merged.values())


EMPTY_STATE = LedgerState((), {}, (), None, exists=False)


def create_statements(names: LedgerNames) -> list[Sql]:
    """``CREATE TABLE IF NOT EXISTS`` for every ledger (a foreign wrangler table is untouched)."""
    own = quote_identifier(names.table)
    statements = [
        Sql(
            f"CREATE TABLE IF NOT EXISTS {own} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "filename TEXT UNIQUE NOT NULL, applied_at TEXT DEFAULT (datetime('now')), "
            "checksum TEXT, execution_time_ms INTEGER, source TEXT, applied_by TEXT, bookmark TEXT)"
        ),
        Sql(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(names.lock_table)} "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, host TEXT NOT NULL, "
            "pid INTEGER NOT NULL, acquired_at TEXT NOT NULL, expires_at REAL NOT NULL)"
        ),
    ]
    # Wrangler's own DDL, word for word, so the stored schema is the one wrangler 4.164 makes
    # (it quotes the table name; 4.86 did not).
    # (Table names are validated identifiers: see settings.IDENTIFIER_RE.)
    for table in names.wrangler_tables:
        statements.append(Sql(WRANGLER_DDL.format(table=quote_identifier(table))))
    return statements


def create_history_statement(names: LedgerNames) -> Sql:
    """``CREATE TABLE IF NOT EXISTS`` for the history of accepted checksum changes (``repair``)."""
    return Sql(
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(names.history_table)} "
        "(id INTEGER PRIMARY KEY AUTOINCREMENT, filename TEXT NOT NULL, old_checksum TEXT, "
        "new_checksum TEXT, changed_at TEXT DEFAULT (datetime('now')), changed_by TEXT, "
        "reason TEXT)"
    )


def accept_checksum_statements(
    names: LedgerNames, filename: str, old: str | None, new: str, changed_by: str
) -> list[Sql]:
    """Keep the old checksum in the history, then record the new one (``repair``).

    The update only matches while the row still holds ``old``, so a concurrent
    repair cannot be silently overwritten.
    """
    history = quote_identifier(names.history_table)
    return [
        create_history_statement(names),
        Sql(
            f"INSERT INTO {history} (filename, old_checksum, new_checksum, changed_by, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            (filename, old, new, changed_by, "repair"),
        ),
        Sql(
            f"UPDATE {quote_identifier(names.table)} SET checksum = ? "
            "WHERE filename = ? AND checksum IS ?",
            (new, filename, old),
        ),
    ]


def read_history_batch(names: LedgerNames) -> Batch:
    """Every accepted checksum change, oldest first (the table must exist)."""
    history = quote_identifier(names.history_table)
    return Batch((Sql(f"SELECT * FROM {history} ORDER BY id"),), label="read history")


def read_statements(names: LedgerNames, tables: Iterable[str] | None = None) -> list[Sql]:
    """Read the columns of every ledger, then the rows of ``tables`` (default: all)."""
    wanted = list(names.all_tables)
    marks = ", ".join("?" for _ in wanted)
    statements = [
        Sql(
            "SELECT m.name AS tbl, p.name AS col FROM sqlite_master AS m "
            f"JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table' AND m.name IN ({marks})",
            tuple(wanted),
        )
    ]
    for table in wanted if tables is None else [t for t in wanted if t in set(tables)]:
        statements.append(Sql(f"SELECT * FROM {quote_identifier(table)}"))
    return statements


def lock_statements(names: LedgerNames, lock: LockInfo) -> list[Sql]:
    """Drop an expired lock, then take the lock if it is free."""
    table = quote_identifier(names.lock_table)
    return [
        Sql(f"DELETE FROM {table} WHERE expires_at < ?", (time.time(),)),
        Sql(
            f"INSERT OR IGNORE INTO {table} (id, owner, host, pid, acquired_at, expires_at) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (lock.owner, lock.host, lock.pid, lock.acquired_at, lock.expires_at),
        ),
    ]


def ensure_and_lock_batch(names: LedgerNames, lock: LockInfo) -> Batch:
    """One round trip: create the ledgers, try the lock, read everything back."""
    statements = create_statements(names) + lock_statements(names, lock) + read_statements(names)
    return Batch(tuple(statements), label="lock", retry_safe=True)


def release_lock_batch(names: LedgerNames, owner: str, extra: Sequence[Sql] = ()) -> Batch:
    """Release our lock (only ours), plus any bookkeeping that can ride along."""
    table = quote_identifier(names.lock_table)
    return Batch(
        (*extra, Sql(f"DELETE FROM {table} WHERE owner = ?", (owner,))),
        label="unlock",
        retry_safe=True,
    )


def force_unlock_batch(names: LedgerNames) -> Batch:
    """Clear the lock whoever holds it (``orchestrate unlock``)."""
    create_lock = create_statements(names)[1]
    return Batch(
        (create_lock, Sql(f"DELETE FROM {quote_identifier(names.lock_table)}")),
        label="unlock",
        retry_safe=True,
    )


def record_statements(
    names: LedgerNames,
    filename: str,
    checksum: str,
    source: str,
    wrangler_entries: Sequence[tuple[str, str]],
    lock_owner: str | None,
    lock_expires: float,
    bookmark: str | None = None,
    applied_by: str | None = None,
    elapsed: Elapsed | None = ELAPSED_MS,
) -> list[Sql]:
    """The ledger rows that commit together with one migration.

    ``bookmark`` is the Time Travel bookmark taken before this release's first write.
    ``baseline`` and ``adopt`` pass ``elapsed=None`` (nothing ran) and say who recorded the row.
    """
    by = applied_by or f"orchestrate {__version__}"
    statements = [
        Sql(
            f"INSERT INTO {quote_identifier(names.table)} "
            "(filename, checksum, execution_time_ms, source, applied_by, bookmark) VALUES (?, ?, ?, ?, ?, ?)",
            (filename, checksum, elapsed, source, by, bookmark),
        )
    ]
    # A plain INSERT on wrangler's UNIQUE name: if wrangler (or anyone) recorded the
    # migration first, this fails the whole batch, so the migration never runs twice.
    for table, name in wrangler_entries:
        statements.append(Sql(f"INSERT INTO {quote_identifier(table)} (name) VALUES (?)", (name,)))
    if lock_owner is not None:
        lock = quote_identifier(names.lock_table)
        statements.append(
            Sql(f"UPDATE {lock} SET expires_at = ? WHERE owner = ?", (lock_expires, lock_owner))
        )
    return statements


def parse_state(
    names: LedgerNames, result: BatchResult, offset: int, tables: Sequence[str] | None = None
) -> LedgerState:
    """Turn the rows of ``read_statements`` (starting at ``offset``) into a ``LedgerState``."""
    columns: dict[str, set[str]] = {}
    for row in result.rows[offset]:
        columns.setdefault(str(row["tbl"]), set()).add(str(row["col"]))
    _refuse_foreign_ledger(names, columns)
    read = [t for t in names.all_tables if tables is None or t in set(tables)]
    contents = dict(zip(read, result.rows[offset + 1 :], strict=False))
    foreign = tuple(
        t for t in names.wrangler_tables if t in columns and not columns[t] >= WRANGLER_COLUMNS
    )
    wrangler = {
        t: _wrangler_names(t, contents.get(t, ()))
        for t in names.wrangler_tables
        if t not in foreign
    }
    own = tuple(_own_row(r, names.table) for r in contents.get(names.table, ()))
    lock_rows = contents.get(names.lock_table, ())
    lock = _lock_info(lock_rows[0], names.lock_table) if lock_rows else None
    return LedgerState(
        own, wrangler, foreign, lock, exists=bool(columns), own_table=names.table in columns
    )


def _refuse_foreign_ledger(names: LedgerNames, columns: dict[str, set[str]]) -> None:
    """A table under our ledger's name that is not ours (no ``filename``) is never guessed at."""
    found = columns.get(names.table)
    if found is not None and not {"filename", "checksum"} <= found:
        raise TargetError(
            f"table {names.table!r} exists but is not orchestrate's ledger (no filename/checksum columns)",
            hint="set another ledger_table in workspace.toml",
        )


def _own_row(row: dict[str, Any], table: str = "_migrations") -> LedgerRow:
    """One row of our ledger; a value of the wrong type (written by hand, or by another
    tool) is one clear error, never a crash and never a guess."""
    check = _RowCheck(table, row)
    ms = check.value("execution_time_ms", int, optional=True)
    return LedgerRow(
        name=check.value("filename", str),
        checksum=check.value("checksum", str, optional=True),
        applied_at=_timestamp(row.get("applied_at"))
        or check.value("applied_at", str, optional=True),
        execution_time_ms=ms,
        source=check.value("source", str, optional=True),
        bookmark=check.value("bookmark", str, optional=True),
    )


def _timestamp(value: Any) -> str | None:
    """A number where a timestamp was expected is shown as written, not refused."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _lock_info(row: dict[str, Any], table: str = "_migrations_lock") -> LockInfo:
    check = _RowCheck(
        table, row, hint="after checking nobody is applying: orchestrate unlock --db NAME"
    )
    return LockInfo(
        owner=check.value("owner", str),
        host=check.value("host", str),
        pid=check.value("pid", int),
        acquired_at=check.value("acquired_at", str),
        expires_at=float(check.value("expires_at", float)),
    )


def _wrangler_names(table: str, rows: Iterable[dict[str, Any]]) -> frozenset[str]:
    """Names in wrangler's ledger; a NULL name (its column allows one) names nothing."""
    names = (_RowCheck(table, r).value("name", str, optional=True) for r in rows)
    return frozenset(n for n in names if n is not None)


_TYPE_WORDS = {str: "text", int: "an integer", float: "a number"}


@dataclass(frozen=True)
class _RowCheck:
    table: str
    row: dict[str, Any]
    hint: str = "fix or delete that row (wrangler d1 execute DB --command ...)"

    def value(self, column: str, kind: type[Any], *, optional: bool = False) -> Any:
        """The column's value if it has the type ``kind`` (ints count as numbers)."""
        found = self.row.get(column)
        if found is None and optional:
            return None
        if kind is float and isinstance(found, int) and not isinstance(found, bool):
            return float(found)
        if kind is int and isinstance(found, float) and found.is_integer():
            return int(found)  # a JSON answer may spell an integer 12.0
        if isinstance(found, kind) and not isinstance(found, bool):
            return found
        raise TargetError(
            f"ledger table {self.table!r} has a corrupt row{self._which()}: "
            f"{column} is {_shown(found)}, not {_TYPE_WORDS[kind]}",
            hint=self.hint,
        )

    def _which(self) -> str:
        return f" (id {_shown(self.row['id'])})" if "id" in self.row else ""


def _shown(value: Any) -> str:
    """A stored value in words: NULL, a blob, or its repr cut short."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray):
        return f"a blob of {len(value)} bytes"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_ledger(session: Session, names: LedgerNames, *, create: bool = False) -> LedgerState:
    """Read a target's ledgers; one request when they all exist.

    Without ``create`` nothing is written, and a ledger that does not exist yet costs a
    probe. With ``create`` (an apply, which makes the ledgers anyway, as wrangler's
    ``migrations apply`` makes its own first) the read creates the missing ones in the
    same request, so a fresh database or one only wrangler has applied costs one read too.
    """
    if create:
        setup = create_statements(names)
        batch = Batch(tuple(setup + read_statements(names)), "read", retry_safe=True)
        return parse_state(names, session.run(batch), len(setup))
    try:
        return parse_state(
            names, session.run(Batch(tuple(read_statements(names)), "read", retry_safe=True)), 0
        )
    except BatchError as exc:
        if "no such table" not in exc.sqlite_message:
            raise
    probe = session.run(Batch(tuple(read_statements(names, tables=())), "read", retry_safe=True))
    existing = [t for t in names.all_tables if t in {str(r["tbl"]) for r in probe.rows[0]}]
    if not existing:
        return EMPTY_STATE
    result = session.run(Batch(tuple(read_statements(names, existing)), "read", retry_safe=True))
    return parse_state(names, result, 0, tables=existing)


def merge_states(states: Sequence[LedgerState]) -> LedgerState:
    """Several copies of one database (local replicas): applied means applied in every copy."""
    if len(states) == 1:
        return states[0]
    common = set.intersection(*({canonical_of(r.name) for r in s.rows} for s in states))
    first = states[0]
    own = tuple(r for r in first.own if canonical_of(r.name) in common)
    wrangler = {
        table: frozenset(n for n in names if canonical_of(n) in common)
        for table, names in first.wrangler.items()
    }
    foreign = tuple(sorted({t for s in states for t in s.foreign}))
    lock = next((s.lock for s in states if s.lock is not None), None)
    own_table = all(s.own_table for s in states)
    exists = any(s.exists for s in states)
    return LedgerState(own, wrangler, foreign, lock, exists=exists, own_table=own_table)


def timing_statements(names: LedgerNames, timings: Sequence[tuple[str, float]]) -> list[Sql]:
    """Record server-reported times where the engine could not bind them before commit.

    Rides on the unlock batch; ``IS NULL`` leaves times an engine already bound alone.
    """
    table = quote_identifier(names.table)
    return [
        Sql(
            f"UPDATE {table} SET execution_time_ms = ? WHERE filename = ? AND execution_time_ms IS NULL",
            (round(ms), filename),
        )
        for filename, ms in timings
    ]


def recorded_in(state: LedgerState, filename: str, wrangler_names: Iterable[str] = ()) -> bool:
    """Is the migration recorded as applied in any ledger of ``state``?

    ``filename`` is orchestrate's canonical file name; ``wrangler_names`` the names
    wrangler's tables would hold for it (matched by canonical name as well).
    """
    wanted = {canonical_of(filename), *(canonical_of(n) for n in wrangler_names)}
    return any(canonical_of(r.name) in wanted for r in state.rows)


def settle_conflict(
    session: Session, names: LedgerNames, filename: str, wrangler_names: Iterable[str] = ()
) -> LedgerState | None:
    """After a migration's batch failed: re-read the ledgers and settle who applied it.

    Returns the fresh ``LedgerState`` when the migration is recorded there (another
    writer, or a late commit of our own send, applied it: the failure was the
    UNIQUE guard, not the migration), or ``None`` when it is not (the failure was
    the migration's own). Raises what reading raises (e.g. ``TargetError``).
    """
    state = read_ledger(session, names)
    return state if recorded_in(state, filename, wrangler_names) else None


def committed_batch(names: LedgerNames, filename: str) -> Batch:
    """Did ``filename``'s row commit? (asked after a write whose outcome is unknown)."""
    table = quote_identifier(names.table)
    return Batch(
        (Sql(f"SELECT COUNT(*) AS n FROM {table} WHERE filename = ?", (filename,)),),
        label="verify",
        retry_safe=True,
    )


def history_batch(names: LedgerNames, limit: int) -> Batch:
    """The ``limit`` most recent rows of orchestrate's ledger, newest first."""
    return Batch(
        (
            Sql(
                "SELECT filename, applied_at, checksum, execution_time_ms, source, bookmark "
                f"FROM {quote_identifier(names.table)} ORDER BY id DESC LIMIT ?",
                (limit,),
            ),
        ),
        label="history",
        retry_safe=True,
    )


def read_history(session: Session, names: LedgerNames, limit: int) -> tuple[LedgerRow, ...]:
    """Recent ledger rows, newest first; none when the ledger does not exist yet."""
    try:
        result = session.run(history_batch(names, limit))
    except BatchError as exc:
        if "no such table" in exc.sqlite_message:
            return ()
        raise
    return tuple(_own_row(r, names.table) for r in result.rows[0])


# The seeds ledger: which ``seeds/<env>/`` files ran on a database (``orchestrate seed``).
SEEDS_TABLE = "_seeds"


@dataclass(frozen=True)
class SeedRow:
    """One applied seed file."""

    env: str
    filename: str
    checksum: str | None
    applied_at: str | None


def seeds_create_statement() -> Sql:
    """``CREATE TABLE IF NOT EXISTS _seeds``: one row per (env, seed file)."""
    return Sql(
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(SEEDS_TABLE)} (id INTEGER PRIMARY KEY "
        "AUTOINCREMENT, env TEXT NOT NULL, filename TEXT NOT NULL, checksum TEXT, source TEXT, "
        "applied_at TEXT DEFAULT (datetime('now')), execution_time_ms INTEGER, applied_by TEXT, "
        "UNIQUE (env, filename))"
    )


def seed_record_statement(env: str, filename: str, checksum: str, source: str) -> Sql:
    """The row that commits together with one seed file."""
    return Sql(
        f"INSERT INTO {quote_identifier(SEEDS_TABLE)} "
        "(env, filename, checksum, source, execution_time_ms, applied_by) VALUES (?, ?, ?, ?, ?, ?)",
        (env, filename, checksum, source, ELAPSED_MS, f"orchestrate {__version__}"),
    )


def read_seeds(session: Session, env: str) -> tuple[SeedRow, ...]:
    """The seed files of ``env`` already applied (none when the ledger does not exist yet)."""
    probe = Sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (SEEDS_TABLE,))
    if not session.run(Batch((probe,), "read seeds", retry_safe=True)).rows[0]:
        return ()
    query = Sql(
        f"SELECT env, filename, checksum, applied_at FROM {quote_identifier(SEEDS_TABLE)} "
        "WHERE env = ? ORDER BY id",
        (env,),
    )
    rows = session.run(Batch((query,), "read seeds", retry_safe=True)).rows[0]
    return tuple(
        SeedRow(str(r["env"]), str(r["filename"]), r.get("checksum"), r.get("applied_at"))
        for r in rows
    )
