"""Output of ``undo --db NAME --remote``: what the restore undoes, and what it did."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from orchestrator.commandline import unlock_command
from orchestrator.reporting.output import print_literal
from orchestrator.restore import TargetUndo, UndoOutcome
from orchestrator.runner.batches import restore_command

_LISTED = 10  # migrations named before "… and N more"


def undone_to_dict(
    plan: Sequence[TargetUndo], outcomes: Sequence[UndoOutcome], *, dry_run: bool
) -> dict[str, Any]:
    """``undo --db --format json`` (``version`` is added on write)."""
    done = {id(o.undo): o for o in outcomes}
    first = plan[0] if plan else None
    return {
        "database": first.history.database.name if first else None,
        "dry_run": dry_run,
        "targets": [_target_dict(u, done.get(id(u))) for u in plan],
        "ok": dry_run or all(o.ok for o in outcomes),
    }


def _target_dict(undo: TargetUndo, outcome: UndoOutcome | None) -> dict[str, Any]:
    restored = outcome.restored if outcome else None
    return {
        "label": undo.history.label,
        "release": undo.release.label,
        "restore_point": undo.release.point,
        "newer_releases": [r.label for r in undo.newer],
        "undone": [e.row.name for e in undo.undone],
        "ok": outcome.ok if outcome else None,
        "error": outcome.error if outcome else None,
        "bookmark": restored.bookmark if restored else None,
        "previous_bookmark": restored.previous_bookmark if restored else None,
        "undo_restore_command": _back_command(undo, outcome),
        "lock_held_until": outcome.lock.expires_at if outcome and outcome.lock else None,
    }


def render_plan(out: Console, plan: Sequence[TargetUndo], *, dry_run: bool) -> None:
    """What the restore puts back, and what it throws away."""
    for undo in plan:
        name = undo.history.database.name
        verb = "would restore" if dry_run else "restoring"
        releases = ", ".join([r.label for r in undo.newer] + [undo.release.label])
        out.print(
            Text.assemble(
                f"{verb} ",
                (name, "bold"),
                f" ({_where(undo)}) to {undo.release.point}, before release {undo.release.label}",
            )
        )
        names = [e.row.name for e in undo.undone]
        shown = ", ".join(names[:_LISTED]) + (
            f" … and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
        )
        count = f"{len(names)} migration{'s' if len(names) != 1 else ''}"
        out.print(Text(f"  undoes {count} ({releases}), newest first: {shown}"))
        out.print(f"  and everything else written to {name} since then", style="yellow")
    if dry_run:
        out.print("Nothing was sent. Without --dry-run, the same command restores it.")


def render_undone(out: Console, outcomes: Sequence[UndoOutcome]) -> None:
    """Per target: restored (and the ledger agrees), or why not; how to undo the restore."""
    for outcome in outcomes:
        undo = outcome.undo
        name = undo.history.database.name
        count = len(undo.undone)
        if outcome.ok:
            those = "that migration" if count == 1 else f"those {count} migrations"
            out.print(
                Text.assemble(
                    ("restored ", "green"),
                    (name, "bold"),
                    f" to {undo.release.point} (before {undo.release.label}): the ledger no "
                    f"longer lists {those}",
                )
            )
        else:
            out.print(Text.assemble(("failed ", "bold red"), (name, "bold"), f": {outcome.error}"))
            if outcome.restored is None:
                out.print("Run the same command again: restoring twice to one point is harmless.")
        if outcome.lock is not None:
            lock = outcome.lock
            until = time.strftime("%H:%M:%S UTC", time.gmtime(lock.expires_at))
            out.print(
                f"The restored state holds the apply lock its run took ({lock.host}, pid "
                f"{lock.pid}) until {until}: it expires by itself, or clear it now with:",
                style="yellow",
            )
            database = undo.history.database
            print_literal(out, f"  {unlock_command(database.name, database.env)}")
        back = _back_command(undo, outcome)
        if back:
            out.print("To undo this restore:")
            print_literal(out, f"  {back}")
    if any(o.ok for o in outcomes):
        out.print("`orchestrate apply --remote` applies those migrations again when you are ready.")


def _where(undo: TargetUndo) -> str:
    history = undo.history
    return (
        history.target if history.label == history.target else f"{history.target}: {history.label}"
    )


def _back_command(undo: TargetUndo, outcome: UndoOutcome | None) -> str | None:
    previous = outcome.restored.previous_bookmark if outcome and outcome.restored else None
    return restore_command(undo.history.database, previous) if previous else None
