"""The local engine: works directly on the SQLite file wrangler's local D1 uses.

A batch is one SQLite transaction (``BEGIN IMMEDIATE`` … ``COMMIT``) with foreign
keys enforced as D1 enforces them, so a crash at any moment leaves the file
before or after each migration. Files are created as miniflare creates them
(WAL mode, ``_cf_METADATA``), so ``wrangler dev`` and ``wrangler d1 execute
--local`` open them as their own.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.engines import Batch, BatchResult, Restored, Sql, Target
from orchestrator.engines.ledger import Elapsed
from orchestrator.engines.localstate import state_file
from orchestrator.errors import BatchError, TargetError
from orchestrator.model import Database

BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LocalEngine:
    """Local D1 state under each binding package (or under ``persist_to``)."""

    root: Path
    persist_to: Path | None = None
    preview: bool = False
    name: str = "local"
    remote: bool = False

    def targets(self, database: Database) -> tuple[Target, ...]:
        """One file per binding package (deduplicated): every ``wrangler dev`` sees the schema."""
        seen: dict[Path, Target] = {}
        for binding in database.bindings:
            path = state_file(self.root, binding, self.persist_to, self.preview)
            label = binding.package if self.persist_to is None else "persist-to"
            seen.setdefault(path, Target(database.name, label, str(path)))
        return tuple(seen.values())

    def resolve(self, database: Database) -> Database:
        """Local state is keyed by what the config says: nothing to look up."""
        return database

    def exists(self, target: Target) -> bool:
        return Path(target.locator).is_file()

    def open(self, target: Target, *, read_only: bool = False) -> LocalSession:
        path = Path(target.locator)
        if read_only:
            return LocalSession(_connect_read_only(path), target)
        if not path.is_file():
            create_state_file(path)
        return LocalSession(_connect(path), target)


NEW_PREFIX = ".orchestrate-new-"
STATE_MODE = 0o644
LEFTOVER_AGE_S = 60.0  # younger ones may belong to a run creating its file right now


def _remove_leftovers(directory: Path) -> None:
    """Temporary state files a killed run (``kill -9``) left behind."""
    now = time.time()
    for leftover in directory.glob(f"{NEW_PREFIX}*"):
        with contextlib.suppress(OSError):
            if now - leftover.lstat().st_mtime > LEFTOVER_AGE_S:
                leftover.unlink()


def create_state_file(path: Path) -> None:
    """Create an empty local D1 file the way miniflare does (WAL mode, ``_cf_METADATA``).

    Built under a temporary name and linked into place, so concurrent runs never see a
    half-made file; if another run links first, its file is the one used.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(path.parent)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=NEW_PREFIX, suffix=".sqlite")
        os.close(handle)
        os.chmod(name, STATE_MODE)  # mkstemp makes 0600; miniflare's files are 0644
    except OSError as exc:
        raise TargetError(
            f"cannot create local D1 state {path}: {exc}", hint="check --persist-to"
        ) from None
    temporary = Path(name)
    try:
        _initialise(temporary, path)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    except OSError as exc:
        raise TargetError(f"cannot create local D1 state {path}: {exc}") from None
    finally:
        for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
            leftover.unlink(missing_ok=True)


def _initialise(temporary: Path, path: Path) -> None:
    connection = sqlite3.connect(temporary, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS _cf_METADATA (key INTEGER PRIMARY KEY, value BLOB)"
        )
    except sqlite3.Error as exc:
        raise TargetError(f"cannot create local D1 state {path}: {exc}") from None
    finally:
        connection.close()


def _connect(path: Path) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
        )
        connection.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise TargetError(f"cannot open local D1 state {path}: {exc}") from None
    connection.row_factory = sqlite3.Row
    return connection


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Open without writing a byte, not even -wal/-shm files.

    With WAL content pending (wrangler leaves some), read through SQLite in
    ``mode=ro``: the -wal/-shm files exist already. Otherwise read the file into
    memory: SQLite creates -wal/-shm for a WAL-mode file even when ``immutable``.
    """
    wal = Path(f"{path}-wal")
    try:
        if wal.is_file() and wal.stat().st_size > 0:
            connection = sqlite3.connect(
                f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            connection = _in_memory_copy(path)
    except (sqlite3.Error, OSError) as exc:
        raise TargetError(f"cannot open local D1 state {path}: {exc}") from None
    connection.row_factory = sqlite3.Row
    return connection


def _in_memory_copy(path: Path) -> sqlite3.Connection:
    image = bytearray(path.read_bytes())
    if len(image) >= 20:
        image[18:20] = b"\x01\x01"  # WAL mode -> rollback journal, so memory can serve it
    connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    if image:
        connection.deserialize(bytes(image))
    return connection


class LocalSession:
    """One connection; each ``run`` is one transaction."""

    def __init__(self, connection: sqlite3.Connection, target: Target) -> None:
        self.connection = connection
        self.target = target

    def run(self, batch: Batch) -> BatchResult:
        """Run ``batch`` in one transaction; roll it all back on the first failure."""
        started = time.perf_counter()
        rows: list[tuple[dict[str, Any], ...]] = []
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if not _reads_only(batch) else "BEGIN")
        except sqlite3.Error as exc:
            raise TargetError(f"{self.target.locator}: cannot start a transaction: {exc}") from None
        try:
            for statement in batch.statements:
                _refuse_transaction_control(statement.text, len(rows))
                cursor.execute(statement.text, _bind(statement, started))
                rows.append(tuple(dict(r) for r in cursor.fetchall()) if cursor.description else ())
                if not self.connection.in_transaction:  # belt and braces: nothing may end it early
                    raise BatchError("the statement ended the batch's transaction", len(rows) - 1)
            cursor.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            # len(rows) statements succeeded; past the last one, it was COMMIT that failed.
            failing = len(rows) if len(rows) < len(batch.statements) else None
            raise BatchError(str(exc), failing) from None
        except BaseException:
            self._rollback()
            raise
        return BatchResult(tuple(rows), (time.perf_counter() - started) * 1000)

    def _rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")

    def bookmark(self) -> str | None:
        """Local state has no Time Travel."""
        return None

    def restore(self, point: str) -> Restored:
        """Local state has no Time Travel: refused."""
        raise TargetError(f"{self.target.database}: local D1 has no Time Travel to restore from")

    def close(self) -> None:
        self.connection.close()


_TRANSACTION_WORDS = re.compile(
    r"\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE
)


_D1_REFUSES = re.compile(r"\s*(ATTACH|DETACH|VACUUM)\b", re.IGNORECASE)

# Either of the above (one match per statement on the apply path instead of two).
_REFUSED_WORDS = re.compile(
    r"\s*(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|ATTACH|DETACH|VACUUM)\b", re.IGNORECASE
)


def _refuse_transaction_control(text: str, index: int) -> None:
    """Remote D1 rejects these, and here they would split the batch's one transaction
    (or, for ATTACH, write an SQLite file anywhere on this machine)."""
    if _REFUSED_WORDS.match(text) is None:
        return
    found = _TRANSACTION_WORDS.match(text)
    if found:
        raise BatchError(
            f"{found.group(1).upper()} is not allowed in a migration: D1 rejects it, and each "
            "migration already runs as one atomic batch (remove it)",
            index,
        )
    refused = _D1_REFUSES.match(text)
    if refused:
        raise BatchError(
            f"{refused.group(1).upper()} is not allowed in a migration: D1 rejects it "
            "(not authorized), so local apply refuses it too (remove it)",
            index,
        )


def _bind(statement: Sql, started: float) -> tuple[Any, ...]:
    if not statement.params or not any(isinstance(p, Elapsed) for p in statement.params):
        return statement.params
    elapsed = round((time.perf_counter() - started) * 1000)
    return tuple(elapsed if isinstance(p, Elapsed) else p for p in statement.params)


def _reads_only(batch: Batch) -> bool:
    return all(s.text.lstrip()[:6].upper() == "SELECT" for s in batch.statements)
