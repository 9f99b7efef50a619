"""Fleet reports: the plan, the rollout summary and the status, for people and machines.

The status page (``--format html``) is ``reporting/fleet_page.py``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from orchestrator.commandline import fleet_undo_command
from orchestrator.fleets.model import FleetPlan, MemberResult, Outcome, RolloutReport

SHOWN = 20  # failed members listed in text output; JSON lists them all


def plan_to_dict(plan: FleetPlan) -> dict[str, Any]:
    """``plan --fleet --format json``."""
    return {
        "fleet": plan.fleet,
        "shard": list(plan.shard) if plan.shard else None,
        "members": len(plan.members),
        "versions": plan.histogram(),
        "pending": plan.pending_files(),
        "migrations": [m.file for m in plan.migrations],
        "refused": [
            {"id": p.member.id, "name": p.member.name, "error": p.refusal}
            for p in plan.members
            if p.refusal
        ],
        "problems": [
            {"severity": str(p.severity), "code": p.code, "message": p.message, "file": p.file}
            for p in plan.problems
        ],
    }


def render_plan(out: Console, plan: FleetPlan) -> None:
    """Member count, members per version, pending files, problems."""
    shard = f" (shard {plan.shard[0]}/{plan.shard[1]})" if plan.shard else ""
    out.print(
        Text.assemble((f"fleet {plan.fleet}", "bold"), f"{shard}: {len(plan.members):,} members")
    )
    _histogram(out, plan.histogram())
    pending = plan.pending_files()
    if pending:
        out.print("pending:")
        for file, count in pending.items():
            out.print(f"  {file}  on {count:,} members")
    else:
        out.print("nothing pending")
    for p in [p for p in plan.members if p.refusal][:SHOWN]:
        out.print(Text.assemble(("refused", "red"), f" {p.member.name}: {p.refusal or ''}"))
    for problem in plan.problems:
        out.print(f"{problem.severity}: {problem.message}")


def _histogram(out: Console, counts: dict[str, int]) -> None:
    out.print("versions:")
    width = max(counts.values(), default=1)
    for version, count in counts.items():
        bar = "#" * max(1, round(20 * count / width))
        out.print(f"  {version:<36} {count:>7,}  {bar}")


def report_to_dict(report: RolloutReport) -> dict[str, Any]:
    """``apply --fleet --format json``."""
    return {
        "fleet": report.fleet,
        "started_at": report.started_at,
        "dry_run": report.dry_run,
        "stages": list(report.stages),
        "stopped": report.stopped,
        "requests": report.requests,
        "seconds": round(report.seconds, 3),
        "outcomes": dict(Counter(str(r.outcome) for r in report.results)),
        "members": [_member(r) for r in report.results],
    }


def _member(result: MemberResult) -> dict[str, Any]:
    return {
        "id": result.member.id,
        "name": result.member.name,
        "outcome": str(result.outcome),
        "version": result.version,
        "applied": list(result.applied),
        "error": result.error,
        "drift": list(result.drift),
        "requests": result.requests,
    }


def render_report(out: Console, report: RolloutReport) -> None:
    """Outcomes, failed members, where it stopped and what to do next."""
    counts = Counter(r.outcome for r in report.results)
    parts = ", ".join(f"{n:,} {o}" for o, n in sorted(counts.items()))
    verb = "would run" if report.dry_run else "ran"
    out.print(
        f"fleet {report.fleet}: {parts}; {report.requests:,} requests, {report.seconds:.1f} s ({verb} stages: {', '.join(report.stages) or '-'})"
    )
    _failures(out, [r for r in report.results if r.failed])
    if report.stopped:
        out.print(Text.assemble(("stopped", "red"), f": {report.stopped}"))
    if not report.dry_run and (report.stopped or any(r.failed for r in report.results)):
        for line in next_steps(report):
            out.print(f"  next: {line}")


def _failures(out: Console, failed: list[MemberResult]) -> None:
    print_capped(out, [flagged(str(r.outcome), r.member.name, r.error) for r in failed])


def flagged(word: str, name: str, error: object) -> Text:
    """``<word, in red> <member>: <error>``, printed as written."""
    return Text.assemble((word, "red"), f" {name}: {error or ''}")


def print_capped(out: Console, lines: Sequence[Text | str], indent: str = "") -> None:
    """The first ``SHOWN`` lines, then how many more there are (JSON lists them all)."""
    for line in lines[:SHOWN]:
        out.print(Text(indent) + line if isinstance(line, Text) else f"{indent}{line}")
    if len(lines) > SHOWN:
        out.print(f"{indent}… and {len(lines) - SHOWN:,} more (--format json lists them all)")


def next_steps(report: RolloutReport) -> list[str]:
    """What to do after a stopped or failed rollout."""
    steps = [
        "look at the failed members above; their data and ledgers are untouched",
        "fix the cause, then run the same command again: members already done cost one read",
        "raise --max-failures to let the rollout go past failing members",
    ]
    applied = [r for r in report.results if r.outcome is Outcome.APPLIED]
    if applied:
        undo = fleet_undo_command(report.fleet)
        steps.append(f"remotely, to undo the members this rollout wrote (Time Travel): {undo}")
    return steps


def status_to_dict(
    plan: FleetPlan, record: dict[str, Any], drifted: Iterable[MemberResult]
) -> dict[str, Any]:
    """``status --fleet --format json``."""
    data = plan_to_dict(plan)
    data["last_rollout_started_at"] = _last_start(plan, record)
    data["failed"] = _failed_rows(plan, record, drifted)
    return data


def _last_start(plan: FleetPlan, record: dict[str, Any]) -> str | None:
    candidates = [t for t in (plan.last_rollout, record.get("started_at")) if t]
    return max(candidates) if candidates else None


def _failed_rows(
    plan: FleetPlan, record: dict[str, Any], drifted: Iterable[MemberResult]
) -> list[dict[str, Any]]:
    rows = {
        r.member.id: {
            "id": r.member.id,
            "name": r.member.name,
            "outcome": str(r.outcome),
            "error": r.error,
        }
        for r in drifted
    }
    ids = {p.member.id for p in plan.members}
    recorded = record.get("failed") if isinstance(record.get("failed"), dict) else {}
    for member_id, entry in (recorded or {}).items():
        if member_id in ids and member_id not in rows and isinstance(entry, dict):
            rows[member_id] = {
                "id": member_id,
                "name": entry.get("name"),
                "outcome": entry.get("outcome"),
                "error": entry.get("error"),
            }
    return sorted(rows.values(), key=lambda r: str(r["name"]))


def render_status_text(out: Console, data: dict[str, Any]) -> None:
    """Histogram, failed and drifted members, the last rollout's start."""
    shard = f" (shard {data['shard'][0]}/{data['shard'][1]})" if data.get("shard") else ""
    out.print(
        Text.assemble((f"fleet {data['fleet']}", "bold"), f"{shard}: {data['members']:,} members")
    )
    _histogram(out, data["versions"])
    out.print(f"last rollout started: {data['last_rollout_started_at'] or 'never'}")
    for row in data["failed"][:SHOWN]:
        out.print(flagged(str(row["outcome"]), str(row["name"]), row["error"]))
    if not data["failed"]:
        out.print("no failed or drifted members")


def render_status_markdown(data: dict[str, Any]) -> str:
    """A Markdown table for a pull request or a job summary."""
    lines = [
        f"## Fleet {data['fleet']}: {data['members']:,} members",
        "",
        "| version | members |",
        "| --- | ---: |",
    ]
    lines += [f"| {v} | {n:,} |" for v, n in data["versions"].items()]
    lines += ["", f"Last rollout started: {data['last_rollout_started_at'] or 'never'}", ""]
    if data["failed"]:
        lines += ["| member | outcome | error |", "| --- | --- | --- |"]
        lines += [f"| {r['name']} | {r['outcome']} | {_cell(r['error'])} |" for r in data["failed"]]
    else:
        lines.append("No failed or drifted members.")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
