"""Shadow replay: run a database's migrations on an in-memory SQLite, as D1 runs them.

D1 runs each migration file as one batch in one transaction, with foreign keys
always on. The shadow does the same: ``PRAGMA foreign_keys=ON``, one savepoint per
migration, statement by statement so a failure carries its ``file:line``. Inside
a transaction SQLite ignores ``PRAGMA foreign_keys`` exactly as D1 does, so a
``DROP TABLE`` fires the children's ON DELETE actions here too.

The API is reusable (``verify``, ``adopt`` and ``revert`` build on it):

- ``replay(migrations, options)`` runs a whole plan and returns a ``Replay``
  (per-migration outcomes, optional schema snapshots, the final schema);
- ``open_shadow`` / ``run_script`` / ``rerun_script`` are the steps it is made of;
- ``schema.snapshot_schema`` gives the structural schema at any point.

Nothing here touches a file: the database lives in memory, and statements that
would reach outside it (``ATTACH``, ``VACUUM INTO``) are never executed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from orchestrator.checks.parsed import ParsedMigration, parse_migration
from orchestrator.checks.probe import RowLoss, probe_losses
from orchestrator.checks.schema import SchemaSnapshot, schema_text, schema_version, snapshot_schema
from orchestrator.checks.statements import Shape
from orchestrator.model import Migration
from orchestrator.sqltext import Statement, upper_text

# Verbs the shadow never runs: D1 rejects them (rules D003/D004 report them) and
# they would break the shadow's own transaction or reach the filesystem.
_NOT_RUN = frozenset(
    {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "ATTACH", "DETACH", "VACUUM"}
)
_MIGRATION = "orchestrate_migration"
_RERUN = "orchestrate_rerun"

Watch = Callable[[ParsedMigration, int], bool]


@dataclass(frozen=True)
class Failure:
    """A statement SQLite refused: where, what, and SQLite's message."""

    file: str
    line: int
    message: str
    index: int = -1


@dataclass(frozen=True)
class Rerun:
    """The second run of a migration: statements that failed, objects it changed."""

    failures: tuple[Failure, ...] = ()
    changed: tuple[str, ...] = ()
    grew: tuple[Failure, ...] = ()  # INSERTs whose table gained rows the second time

    @property
    def clean(self) -> bool:
        """True when the second run failed nowhere, changed nothing and added no row."""
        return not self.failures and not self.changed and not self.grew


@dataclass(frozen=True)
class StepReplay:
    """What replaying one migration showed."""

    file: str
    failure: Failure | None = None
    rerun: Rerun | None = None
    losses: tuple[RowLoss, ...] = ()
    probed: bool = False
    at: Mapping[int, SchemaSnapshot] = field(default_factory=dict)
    after: SchemaSnapshot | None = None


@dataclass(frozen=True)
class Replay:
    """A database's replay: one step per migration run, the final schema, where it stopped."""

    steps: tuple[StepReplay, ...]
    final: SchemaSnapshot | None
    stopped: Failure | None = None
    not_run: tuple[str, ...] = ()

    def step(self, file: str) -> StepReplay | None:
        """The step of the migration at ``file``, if it ran."""
        return next((s for s in self.steps if s.file == file), None)


@dataclass(frozen=True)
class ReplayOptions:
    """What to measure besides the plain run (all off: the cheapest replay).

    ``watch(migration, index)`` asks for a snapshot just before that statement;
    ``after(migration)`` for one after the migration; ``rerun_needed(migration)`` False
    skips the second run of a migration whose outcome the rules already know.
    """

    rerun: bool = False
    rerun_needed: Callable[[ParsedMigration], bool] | None = None
    probe: bool = False
    final: bool = True
    watch: Watch | None = None
    after: Callable[[ParsedMigration], bool] | None = None


def open_shadow() -> sqlite3.Connection:
    """A fresh in-memory database configured as D1 runs: foreign keys on."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def replay(
    migrations: Iterable[Migration | ParsedMigration], options: ReplayOptions | None = None
) -> Replay:
    """Replay ``migrations`` in the order given; stop at the first migration that fails."""
    options = options or ReplayOptions()
    scripts = [as_parsed(m) for m in migrations]
    conn = open_shadow()
    try:
        steps: list[StepReplay] = []
        for position, script in enumerate(scripts):
            step = replay_step(conn, script, options)
            steps.append(step)
            if step.failure is not None:
                rest = tuple(s.file for s in scripts[position + 1 :])
                return Replay(tuple(steps), _final(conn, options), step.failure, rest)
        return Replay(tuple(steps), _final(conn, options))
    finally:
        conn.close()
        _forget_batch()


def as_parsed(item: Migration | ParsedMigration, database: str | None = None) -> ParsedMigration:
    """Accept model migrations as well as already parsed ones."""
    if isinstance(item, ParsedMigration):
        return item
    return parse_migration(item.file, item.sql, database)


def replay_step(
    conn: sqlite3.Connection, script: ParsedMigration, options: ReplayOptions
) -> StepReplay:
    """Probe (optional), run, then re-run (optional) one migration on ``conn``."""
    losses: tuple[RowLoss, ...] = ()
    probed = options.probe and needs_probe(conn, script)
    if probed:
        losses = probe_losses(conn, script, lambda: run_script(conn, script) is None)
    watched = _watched(script, options.watch)
    failure, at = _run_watched(conn, script, watched)
    if failure is not None:
        return StepReplay(script.file, failure, None, losses, probed, at)
    after = snapshot_schema(conn) if options.after and options.after(script) else None
    rerun = rerun_script(conn, script) if _reruns(script, options) else None
    return StepReplay(script.file, None, rerun, losses, probed, at, after)


def _reruns(script: ParsedMigration, options: ReplayOptions) -> bool:
    if not options.rerun or script.recreations:
        return False
    return options.rerun_needed is None or options.rerun_needed(script)


def _watched(script: ParsedMigration, watch: Watch | None) -> frozenset[int]:
    if watch is None:
        return frozenset()
    return frozenset(i for i in range(len(script.statements)) if watch(script, i))


def _final(conn: sqlite3.Connection, options: ReplayOptions) -> SchemaSnapshot | None:
    return snapshot_schema(conn) if options.final else None


def runs_on_shadow(shape: Shape) -> bool:
    """False for statements the shadow skips (transaction control, ATTACH, VACUUM, PRAGMA foreign_keys)."""
    if shape.verb in _NOT_RUN or not shape.verb or shape.verb == ";":
        return False
    return not (shape.verb == "PRAGMA" and shape.name == "foreign_keys")


def run_script(conn: sqlite3.Connection, script: ParsedMigration) -> Failure | None:
    """Run one migration as one transaction; on failure roll it back and say where."""
    return _run_watched(conn, script, frozenset())[0]


def _run_watched(
    conn: sqlite3.Connection, script: ParsedMigration, watched: frozenset[int]
) -> tuple[Failure | None, dict[int, SchemaSnapshot]]:
    at: dict[int, SchemaSnapshot] = {}
    if not watched and _run_batch(conn, script, _MIGRATION):
        return _commit(conn, script), at
    conn.execute(f"SAVEPOINT {_MIGRATION}")
    for index, (statement, shape) in enumerate(zip(script.statements, script.shapes, strict=True)):
        if not runs_on_shadow(shape):
            continue
        if index in watched:
            at[index] = snapshot_schema(conn)
        failure = execute(conn, script.file, index, statement)
        if failure is not None:
            _abandon(conn, _MIGRATION)
            return failure, at
    return _commit(conn, script), at


def _run_batch(conn: sqlite3.Connection, script: ParsedMigration, savepoint: str) -> bool:
    """Run the migration's statements in one ``executescript`` inside ``savepoint`` (left
    open): True when every one ran. On a failure, everything is rolled back and False
    says: run statement by statement (which finds the failing one and its line).

    ``executescript`` commits an open transaction first, so it is used only outside one
    (never inside the probe's savepoint). Each statement's text is one SQLite statement:
    the splitter ends one at every ``;`` outside literals and comments, except inside a
    trigger, where ``sqlite3_complete`` decides; a text it calls incomplete would run
    differently glued to the next, so such a migration runs statement by statement.
    """
    if conn.in_transaction:
        return False
    script_text = _batch_text(script)
    if script_text is None:
        return False
    try:
        conn.executescript(f"SAVEPOINT {savepoint};\n" + script_text)
    except (sqlite3.Error, sqlite3.Warning, ValueError):  # ValueError: a NUL in the text
        _abandon(conn, savepoint)
        return False
    return True


# The last migration's batch text (the first run and the second run both send it).
_last_batch: tuple[ParsedMigration | None, str | None] = (None, None)


def _batch_text(script: ParsedMigration) -> str | None:
    """The statements the shadow runs, as one script; None when it must go one by one."""
    global _last_batch
    last, text = _last_batch  # one read: another thread may replace it (verify's pool)
    if last is script:
        return text
    texts = [
        s.text
        for s, shape in zip(script.statements, script.shapes, strict=True)
        if runs_on_shadow(shape)
    ]
    whole = "TRIGGER" not in upper_text(script.sql) or all(_whole(t) for t in texts)
    joined = "\n".join(texts) + "\n;" if texts and whole else None
    _last_batch = (script, joined)
    return joined


def _forget_batch() -> None:
    global _last_batch
    _last_batch = (None, None)


def _whole(text: str) -> bool:
    if "TRIGGER" not in text.upper():
        return True
    return sqlite3.complete_statement(text)


def execute(
    conn: sqlite3.Connection, file: str, index: int, statement: Statement
) -> Failure | None:
    """Run one statement as apply sends it (comments stripped, see D008); SQLite's
    refusal becomes a ``Failure`` at its line."""
    try:
        conn.execute(statement.executable).close()
    except (sqlite3.Error, sqlite3.Warning) as exc:
        return Failure(file, statement.line, str(exc), index)
    return None


def _commit(conn: sqlite3.Connection, script: ParsedMigration) -> Failure | None:
    try:
        conn.execute(f"RELEASE {_MIGRATION}")
    except sqlite3.Error as exc:
        # Deferred foreign-key checks run at commit, as on D1 at the end of the batch.
        _abandon(conn, _MIGRATION)
        last = script.statements[-1].line if script.statements else 1
        return Failure(script.file, last, f"at the end of the migration: {exc}")
    return None


def _abandon(conn: sqlite3.Connection, savepoint: str) -> None:
    # Some conflict clauses (OR ROLLBACK) have already ended the whole transaction.
    if conn.in_transaction:
        conn.execute(f"ROLLBACK TO {savepoint}")
        conn.execute(f"RELEASE {savepoint}")


def rerun_script(conn: sqlite3.Connection, script: ParsedMigration) -> Rerun:
    """Run an applied migration again and undo it: what failed, what it changed.

    The second run goes in one batch (``_run_batch``); only when a statement fails does it
    go again statement by statement, to list every failure with its line."""
    version = schema_version(conn)
    inserts = _insert_targets(script)
    counts = {table: count_rows(conn, table) for table in inserts}
    changes = conn.total_changes
    failures: list[Failure] = []
    if not _run_batch(conn, script, _RERUN):
        changes = conn.total_changes
        failures = _rerun_one_by_one(conn, script)
    grew = []
    for table, index in inserts.items():
        # Whole-run counts: a recreation's restore re-inserts what its DROP removed.
        added = count_rows(conn, table) - counts[table]
        if added > 0:
            message = f"{added} more row{'s' if added != 1 else ''} in {table}"
            grew.append(Failure(script.file, script.statements[index].line, message, index))
    changed: tuple[str, ...] = ()
    if conn.in_transaction and schema_version(conn) != version:
        second = schema_text(conn)
        conn.execute(f"ROLLBACK TO {_RERUN}")
        changed = schema_changes(schema_text(conn), second)
    elif conn.in_transaction and (conn.total_changes != changes or failures):
        conn.execute(f"ROLLBACK TO {_RERUN}")
    if conn.in_transaction:
        conn.execute(f"RELEASE {_RERUN}")
    return Rerun(tuple(failures), changed, tuple(grew))


def _rerun_one_by_one(conn: sqlite3.Connection, script: ParsedMigration) -> list[Failure]:
    """The second run statement by statement inside the ``_RERUN`` savepoint (left open):
    every failure, each once.

    A failure that ends the transaction (``OR ROLLBACK``, a trigger's ``RAISE(ROLLBACK)``)
    has undone the run so far; the statements before it run again in a new savepoint (less
    the ones that ended it), and the run goes on. So nothing ever runs outside the
    savepoint, which is rolled back, and no row of the second run reaches the migrations
    after it. Each restart leaves one more statement out, so this ends."""
    failures: dict[int, Failure] = {}
    ended: set[int] = set()
    size = len(script.statements)
    start = 0
    conn.execute(f"SAVEPOINT {_RERUN}")
    while (stop := _run_each(conn, script, range(start, size), ended, failures)) is not None:
        again: int | None = stop
        while again is not None:  # put back the statements before it, in a new savepoint
            ended.add(again)
            conn.execute(f"SAVEPOINT {_RERUN}")
            again = _run_each(conn, script, range(stop), ended, failures)
        start = stop + 1
    return [failures[i] for i in sorted(failures)]


def _run_each(
    conn: sqlite3.Connection,
    script: ParsedMigration,
    indexes: range,
    ended: set[int],
    failures: dict[int, Failure],
) -> int | None:
    """Run the statements at ``indexes`` (but those in ``ended``), keeping each one's first
    failure; the index of one that ended the transaction (the run stops there), else None."""
    for index in indexes:
        if index in ended or not runs_on_shadow(script.shapes[index]):
            continue
        failure = execute(conn, script.file, index, script.statements[index])
        if failure is not None:
            failures.setdefault(index, failure)
        if not conn.in_transaction:
            return index
    return None


def _insert_targets(script: ParsedMigration) -> dict[str, int]:
    """Each table the migration INSERTs into, with its first INSERT's index."""
    found: dict[str, int] = {}
    for index in script.indexes("INSERT"):
        shape = script.shapes[index]
        if shape.name and runs_on_shadow(shape):
            found.setdefault(shape.name, index)
    return found


def count_rows(conn: sqlite3.Connection, table: str | None) -> int:
    """Rows in ``table`` (0 when there is none, or it cannot be counted)."""
    if not table:
        return 0
    quoted = '"' + table.replace('"', '""') + '"'
    try:
        row = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def schema_changes(
    before: tuple[tuple[str, str, str], ...], after: tuple[tuple[str, str, str], ...]
) -> tuple[str, ...]:
    """``"added index x"``-style descriptions of how two schema texts differ."""
    old = {(kind, name): sql for kind, name, sql in before}
    new = {(kind, name): sql for kind, name, sql in after}
    notes = [f"added {k} {n}" for k, n in sorted(new.keys() - old.keys())]
    notes += [f"removed {k} {n}" for k, n in sorted(old.keys() - new.keys())]
    notes += [
        f"changed {k} {n}" for k, n in sorted(old.keys() & new.keys()) if old[(k, n)] != new[(k, n)]
    ]
    return tuple(notes)


def needs_probe(conn: sqlite3.Connection, script: ParsedMigration) -> bool:
    """True when the migration can remove rows: only DROP TABLE, DELETE, REPLACE, or
    DML that fires a trigger can; everything else leaves every row in place."""
    shapes = script.shapes
    if script.indexes("DELETE") or any(shapes[i].is_drop() for i in script.indexes("DROP")):
        return True
    # The raw-text test is only a cheap filter (most files never say REPLACE); the tokens decide.
    if "REPLACE" in upper_text(script.sql) and any(_mentions_replace(s) for s in script.statements):
        return True
    dml = bool(script.indexes("INSERT") or script.indexes("UPDATE"))
    return dml and _has_triggers(conn)


def _mentions_replace(statement: Statement) -> bool:
    if "REPLACE" not in statement.text.upper():
        return False
    return any(t.is_word("REPLACE") for t in statement.tokens)


def _has_triggers(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' LIMIT 1").fetchone()
        is not None
    )
