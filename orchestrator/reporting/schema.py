"""Render ``verify`` results: rich text grouped by table, JSON, and Markdown."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.model import RunResult
from orchestrator.reporting.apply import RUN_STYLE
from orchestrator.schema.compare import Change, Difference
from orchestrator.schema.types import TypesCheck
from orchestrator.schema.verify import DatabaseVerdict, TargetVerdict, VerifyReport

CHANGE_STYLE = {Change.MISSING: "red", Change.EXTRA: "yellow", Change.DIFFERENT: "magenta"}


def verify_to_dict(report: VerifyReport) -> dict[str, Any]:
    """``verify --format json`` (``version`` is added on write)."""
    return {
        "target": report.target,
        "env": report.env,
        "ok": bool(report),
        "databases": [
            {
                "name": d.name,
                "ok": d.ok,
                "drift": d.drift,
                "targets": [_target_dict(t) for t in d.targets],
            }
            for d in report.databases
        ],
    }


def _target_dict(verdict: TargetVerdict) -> dict[str, Any]:
    return {
        "target": verdict.target,
        "exists": verdict.exists,
        "applied": verdict.applied,
        "ok": verdict.ok,
        "failure": verdict.failure,
        "notes": list(verdict.notes),
        "differences": [difference_dict(d) for d in verdict.differences],
    }


def difference_dict(difference: Difference) -> dict[str, Any]:
    """One difference as data."""
    return {
        "kind": difference.kind,
        "change": difference.change.value,
        "name": difference.name,
        "table": difference.table,
        "expected": difference.expected,
        "actual": difference.actual,
        "message": difference.message,
    }


def render_verify_text(console: Console, report: VerifyReport) -> None:
    """One line per target; under a drifted one, its differences grouped by table."""
    console.print(Text.assemble(("orchestrate verify", "bold"), f" · {report.target}"))
    for database in report.databases:
        for verdict in database.targets:
            console.print(_headline(database, verdict))
            for note in verdict.notes:
                console.print(Text(f"  note: {note}", "dim"))
            _print_differences(console, verdict.differences)
    console.print(Text(_summary(report), "green" if report else "bold red"))


def _headline(database: DatabaseVerdict, verdict: TargetVerdict) -> Text:
    where = f" ({verdict.target})"
    if verdict.failure:
        return Text.assemble(
            ("✗ ", "bold red"), (database.name, "bold"), where, f": {verdict.failure}"
        )
    if verdict.differences:
        count = len(verdict.differences)
        return Text.assemble(
            ("✗ ", "bold red"),
            (database.name, "bold"),
            where,
            f": {verdict.applied} applied, ",
            (f"{count} difference{'s' if count != 1 else ''}", "red"),
        )
    state = "nothing applied yet" if not verdict.exists else f"{verdict.applied} applied"
    return Text.assemble(("✓ ", "green"), (database.name, "bold"), where, f": {state}, no drift")


def _print_differences(console: Console, differences: tuple[Difference, ...]) -> None:
    for table, group in groupby(differences, key=lambda d: d.table or ""):
        console.print(Text(f"  {table or '(views)'}", "bold"))
        for difference in group:
            console.print(_difference_text(difference))


def _difference_text(difference: Difference) -> Text:
    change = difference.change
    detail = (
        f": migrations give {difference.expected}, the target has {difference.actual}"
        if change is Change.DIFFERENT
        else ""
    )
    label = (f"{change.value:<9}", CHANGE_STYLE[change])
    return Text.assemble("    ", label, difference.subject, detail)


def _summary(report: VerifyReport) -> str:
    drifted = [d for d in report.databases if not d.ok]
    total = len(report.databases)
    if not drifted:
        return f"no drift in {total} database{'s' if total != 1 else ''}"
    differences = sum(d.drift for d in drifted)
    return f"{len(drifted)} of {total} databases drifted or could not be verified ({differences} differences)"


def render_verify_markdown(report: VerifyReport) -> str:
    """A PR comment or release note: one table of databases, then each drift."""
    lines = [
        f"### Schema verify: {report.target}",
        "",
        "| | database | target | applied | differences |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for database in report.databases:
        for verdict in database.targets:
            icon = "✅" if verdict.ok else "❌"
            lines.append(
                f"| {icon} | `{database.name}` | `{verdict.target}` | {verdict.applied} | {len(verdict.differences)} |"
            )
    for database in report.databases:
        for verdict in database.targets:
            details = [f"- {verdict.failure}"] if verdict.failure else []
            details += [f"- **{d.change.value}**: {d.message}" for d in verdict.differences]
            if details:
                lines += ["", f"#### `{database.name}` ({verdict.target})", "", *details]
    return "\n".join(lines) + "\n"


def types_to_dict(check: TypesCheck) -> dict[str, Any]:
    """``verify --types --format json``: the file, its database, and the diff if any."""
    return {
        "file": check.file,
        "database": check.database,
        "ok": check.ok,
        "diff": list(check.diff),
    }


def render_types_check(check: TypesCheck) -> str:
    """A line when the file matches; else the diff and how to fix it."""
    if check.ok:
        return f"{check.file}: matches the migrations of {check.database}"
    return "\n".join(
        [
            *check.diff,
            f"{check.file} no longer matches the migrations of {check.database}; regenerate it:",
            f"  orchestrate types --db {check.database} --out {check.file}",
        ]
    )


def render_seed_summary(
    console: Console, run: RunResult, seed_env: str, *, dry_run: bool = False
) -> None:
    """One row per seeded database (``dry_run``: that would be), then each failure as one
    whole line."""
    if not run.results:
        console.print(
            f"no seeds/{seed_env}/ files next to any migrations directory", style="yellow"
        )
        return
    table = Table(
        title=f"seed {seed_env}: {run.target}" + (" (dry run: nothing written)" if dry_run else ""),
        title_justify="left",
        header_style="bold",
        pad_edge=False,
    )
    for name in ("database", "status", "would seed" if dry_run else "seeded"):
        table.add_column(name, overflow="fold")
    for result in run.results:
        files = ", ".join(a.file.rsplit("/", 1)[-1] for a in result.applied) or "-"
        table.add_row(result.database, Text(result.status.value, RUN_STYLE[result.status]), files)
    console.print(table)
    for result in (r for r in run.results if r.error):
        where = f"{result.file}:{result.line}: " if result.file and result.line else ""
        where = where or (f"{result.file}: " if result.file else "")
        message = f"{result.database}: {where}{result.error}"
        console.print(message, style=RUN_STYLE[result.status], soft_wrap=True, markup=False)
