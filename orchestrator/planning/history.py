"""Pure: compare a target's ledger rows with the migration files on disk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from orchestrator.discovery.naming import canonical_of
from orchestrator.model import Database, LedgerRow


class FileStatus(StrEnum):
    """Does the file on disk still say what was applied?"""

    OK = "ok"
    CHANGED = "changed"
    MISSING = "missing file"
    UNKNOWN = "no checksum"


@dataclass(frozen=True)
class HistoryEntry:
    """One applied migration, as the ledger recorded it, beside its file today."""

    row: LedgerRow
    file: str | None
    status: FileStatus


def compare_history(database: Database, rows: Sequence[LedgerRow]) -> tuple[HistoryEntry, ...]:
    """Each row with its file (matched by canonical name) and whether the checksum still holds."""
    files = {m.name: m for m in database.migrations}
    entries = []
    for row in rows:
        migration = files.get(canonical_of(row.name))
        if migration is None:
            status = FileStatus.MISSING
        elif not row.checksum:
            status = FileStatus.UNKNOWN
        else:
            status = FileStatus.OK if row.checksum == migration.checksum else FileStatus.CHANGED
        entries.append(HistoryEntry(row, migration.file if migration else None, status))
    return tuple(entries)


@dataclass(frozen=True)
class Release:
    """One run's migrations, as the ledger recorded them: the rows that share its restore
    point (the Time Travel bookmark taken before it, or the time it began writing),
    newest first. ``label`` is ``R1`` for the newest release, ``R2`` for the one before."""

    label: str
    point: str
    entries: tuple[HistoryEntry, ...]


def releases(entries: Sequence[HistoryEntry]) -> tuple[Release, ...]:
    """The releases among ``entries`` (newest first), numbered from the newest. Rows
    without a restore point (applied locally, or by wrangler) belong to none."""
    grouped: dict[str, list[HistoryEntry]] = {}
    for entry in entries:
        if entry.row.bookmark:
            grouped.setdefault(entry.row.bookmark, []).append(entry)
    return tuple(
        Release(f"R{n}", point, tuple(rows)) for n, (point, rows) in enumerate(grouped.items(), 1)
    )
