"""Output of ``history --fleet`` and ``undo --fleet``: text and JSON."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.commandline import fleet_undo_command
from orchestrator.fleets.undo import FleetHistory, UndoReport
from orchestrator.reporting.fleet import flagged, print_capped
from orchestrator.reporting.output import print_literal
from orchestrator.reporting.page import parse_utc, relative_time


def _ago(stamp: str) -> str:
    then = parse_utc(stamp)
    return relative_time(then, time.time()) if then is not None else ""


def history_to_dict(found: FleetHistory) -> dict[str, Any]:
    """``history --fleet --format json``."""
    last = found.rollouts[0].started_at if found.rollouts else None
    return {
        "fleet": found.fleet,
        "members": found.members,
        "shard": list(found.shard) if found.shard else None,
        "rollouts": [{"started_at": r.started_at, "members": r.members} for r in found.rollouts],
        "unreadable": [{"id": m.id, "name": m.name, "error": e} for m, e in found.unreadable],
        "last_run": {
            "started_at": found.record.get("started_at"),
            "stopped": found.record.get("stopped"),
            "failed": len(found.record.get("failed") or {}),  # type: ignore[arg-type]
        },
        "undo_command": fleet_undo_command(found.fleet, shard=found.shard)
        if last and found.remote
        else None,
        "requests": found.requests,
    }


def render_history(out: Console, found: FleetHistory) -> None:
    """The rollouts, newest first, with how many members each wrote, and the undo."""
    members = "member" if found.members == 1 else "members"
    out.print(
        Text.assemble(("fleet ", ""), (found.fleet, "bold"), f": {found.members:,} {members} read")
    )
    if not found.rollouts:
        out.print("no rollout has written any member yet")
    else:
        table = Table(show_edge=False)
        for column in ("rollout started (UTC)", "", "members written"):
            table.add_column(column)
        for rollout in found.rollouts:
            table.add_row(rollout.started_at, _ago(rollout.started_at), f"{rollout.members:,}")
        out.print(table)
    record = found.record
    if record.get("stopped") or record.get("failed"):
        failed = len(record.get("failed") or {})  # type: ignore[arg-type]
        out.print(
            f"last run: {failed:,} failed"
            + (f"; stopped: {record['stopped']}" if record.get("stopped") else "")
        )
    print_capped(out, [flagged("unreadable", m.name, error) for m, error in found.unreadable])
    if found.rollouts and found.remote:
        out.print("To undo the last rollout (Time Travel, every member it wrote):")
        print_literal(out, f"  {fleet_undo_command(found.fleet, shard=found.shard)}")
    out.print(f"{found.requests:,} requests")


def undo_to_dict(report: UndoReport) -> dict[str, Any]:
    """``undo --fleet --format json``."""
    return {
        "fleet": report.fleet,
        "timestamp": report.timestamp,
        "dry_run": report.dry_run,
        "shard": list(report.shard) if report.shard else None,
        "restored": [r.member.name for r in report.results if r.ok],
        "failed": [
            {"id": r.member.id, "name": r.member.name, "error": r.error} for r in report.failed
        ],
        "untouched": report.untouched,
        "requests": report.requests,
        "seconds": round(report.seconds, 3),
    }


def render_undo(out: Console, report: UndoReport) -> None:
    """What was restored to when, what failed, what was left alone."""
    ok = sorted((r for r in report.results if r.ok), key=lambda r: r.member.name)
    verb = "would restore" if report.dry_run else "restored"
    members = "member" if len(ok) == 1 else "members"
    out.print(
        f"fleet {report.fleet}: {verb} {len(ok):,} {members} to "
        f"{report.timestamp} ({_ago(report.timestamp)}); {report.untouched:,} untouched "
        "(no rollout wrote them since)"
    )
    if report.dry_run:
        print_capped(out, [r.member.name for r in ok], indent="  ")
    print_capped(out, [flagged("failed", r.member.name, r.error) for r in report.failed])
    if report.failed and not report.dry_run:
        out.print("Run the same command again: restoring a member twice to one time is harmless.")
        print_literal(
            out, f"  {fleet_undo_command(report.fleet, report.timestamp, shard=report.shard)}"
        )
    out.print(f"{report.requests:,} requests in {report.seconds:.1f} s")
