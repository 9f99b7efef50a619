"""``orchestrate history``: a database's most recent ledger rows, for people and machines.

This is the first step of the strategy document's emergency rollback ("identify
the issue"), with what it lacked: whether each file still matches what ran, and
the Time Travel command that undoes a release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.commandline import database_undo_command
from orchestrator.planning.history import FileStatus, HistoryEntry, releases
from orchestrator.reporting.output import print_literal
from orchestrator.runner.batches import restore_command
from orchestrator.services import TargetHistory

STATUS_STYLE = {
    FileStatus.OK: "green",
    FileStatus.CHANGED: "bold red",
    FileStatus.MISSING: "yellow",
    FileStatus.UNKNOWN: "dim",
}


def history_to_dict(histories: Sequence[TargetHistory]) -> dict[str, Any]:
    """The ``history --format json`` document (``version`` is added on write)."""
    first = histories[0] if histories else None
    return {
        "database": first.database.name if first else None,
        "target": first.target if first else None,
        "targets": [
            {"label": h.label, "rows": [_entry_dict(h, e) for e in h.entries]} for h in histories
        ],
    }


def _entry_dict(history: TargetHistory, entry: HistoryEntry) -> dict[str, Any]:
    row = entry.row
    bookmark = row.bookmark
    return {
        "name": row.name,
        "file": entry.file,
        "applied_at": row.applied_at,
        "execution_time_ms": row.execution_time_ms,
        "checksum": entry.status.value,
        "bookmark": bookmark,
        "restore_command": restore_command(history.database, bookmark) if bookmark else None,
    }


def render_history(console: Console, histories: Sequence[TargetHistory]) -> None:
    """One table per target, newest first; then, per release, the command that undoes it."""
    for history in histories:
        found = releases(history.entries)
        console.print(_table(history, {r.point: r.label for r in found}))
        if not history.entries:
            console.print("  no migrations recorded yet", style="dim")
        if found:
            console.print("Undo a release, and everything after it, with:", style="bold")
        for release in found:
            command = restore_command(history.database, release.point)
            print_literal(console, f"  {release.label}: {command}")
        if found and history.target == "remote":
            older = " (add --release=R2 for an older one)" if len(found) > 1 else ""
            console.print(f"or, checking the ledger afterwards{older}:", style="bold")
            command = database_undo_command(history.database.name, history.database.env)
            print_literal(console, f"  {command}")


def _table(history: TargetHistory, releases: dict[str, str]) -> Table:
    where = (
        history.target if history.label == history.target else f"{history.target}: {history.label}"
    )
    title = Text(f"history: {history.database.name} ({where})")  # printed as written, "[…]" too
    table = Table(title=title, title_justify="left", header_style="bold", pad_edge=False)
    for column in ("migration", "applied at (UTC)", "ms", "file", "release"):
        table.add_column(column, overflow="fold", justify="right" if column == "ms" else "left")
    for entry in history.entries:
        row = entry.row
        table.add_row(
            Text(row.name),
            row.applied_at or "",
            "" if row.execution_time_ms is None else str(row.execution_time_ms),
            Text(entry.status.value, STATUS_STYLE[entry.status]),
            releases.get(row.bookmark or "", ""),
        )
    return table
