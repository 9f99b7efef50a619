"""Render the dashboard: rich text (80 to 200 columns, NO_COLOR and pipes), Markdown
for a release note or PR comment, one self-contained HTML file, and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.commandline import restore_flag, shell_command
from orchestrator.dashboard import Dashboard, DatabaseStatus, Urgency
from orchestrator.reporting.output import literal
from orchestrator.reporting.page import render_status_page
from orchestrator.reporting.plan import SEVERITY_STYLE, problem_dict, problem_location

URGENCY_STYLE = {
    Urgency.CHANGED: "bold red",
    Urgency.BROKEN: "bold red",
    Urgency.LOCKED: "bold magenta",
    Urgency.LINT_ERRORS: "red",
    Urgency.DRIFT: "red",
    Urgency.OUT_OF_ORDER: "yellow",
    Urgency.PENDING: "yellow",
    Urgency.WARNINGS: "default",
    Urgency.FINE: "green",
}


def dashboard_to_dict(board: Dashboard) -> dict[str, Any]:
    """``status --format json`` (``version`` added on write)."""
    return {
        "target": board.target,
        "env": board.env,
        "headline": board.headline,
        "attention": board.attention,
        "pending": board.pending,
        "changed": board.changed,
        "databases": [_row_dict(r) for r in board.databases],
        "problems": [problem_dict(p) for p in board.problems],
    }


def _row_dict(row: DatabaseStatus) -> dict[str, Any]:
    return {
        "name": row.name,
        "id": row.id or None,
        "bindings": list(row.bindings),
        "applied": row.applied,
        "pending": row.pending,
        "next_pending": list(row.next_pending),
        "changed": list(row.changed),
        "last_applied": row.last_applied,
        "last_applied_at": row.last_applied_at,
        "lint": {"errors": row.lint.errors, "warnings": row.lint.warnings},
        "lock": row.lock,
        "bookmark": row.bookmark,
        "drift": row.drift,
        "urgency": row.urgency.name.lower(),
        "attention": row.attention,
        "problems": [problem_dict(p) for p in row.problems],
    }


def render_status_text(console: Console, board: Dashboard) -> None:
    """The terminal dashboard: headline, one table row per database, then details."""
    env = f" --env {board.env}" if board.env else ""
    console.print(Text.assemble(("orchestrate status", "bold"), f" · {board.target}{env}"))
    style = "bold red" if board.attention else ("yellow" if board.pending else "green")
    console.print(Text(board.headline, style), soft_wrap=False)
    wide = console.width >= WIDE
    console.print(_table(board, wide))
    _details(console, board, wide)


# From this width the table has room for the last migration and when it ran; on a
# narrower terminal the details under the table say it instead.
WIDE = 110


STATE_LABEL = {
    Urgency.CHANGED: "CHANGED",
    Urgency.BROKEN: "ERRORS",
    Urgency.LOCKED: "LOCKED",
    Urgency.LINT_ERRORS: "lint errors",
    Urgency.DRIFT: "drift",
    Urgency.OUT_OF_ORDER: "out of order",
    Urgency.PENDING: "ready",
    Urgency.WARNINGS: "up to date",
    Urgency.FINE: "up to date",
}


def state_label(row: DatabaseStatus) -> str:
    """A short word for the table; the details below say the rest."""
    if row.urgency in (Urgency.WARNINGS, Urgency.FINE) and row.pending:
        return "ready"
    return STATE_LABEL[row.urgency]


def _table(board: Dashboard, wide: bool) -> Table:
    table = Table(header_style="bold", pad_edge=False, show_edge=False, box=box.SIMPLE_HEAD)
    table.add_column("database", no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("applied", justify="right", no_wrap=True)
    table.add_column("pending", justify="right", no_wrap=True)
    table.add_column("lint", no_wrap=True)
    drift = has_drift_data(board)
    if drift:
        table.add_column("drift", justify="right", no_wrap=True)
    if wide:
        table.add_column("last applied", no_wrap=True, overflow="ellipsis")
    table.add_column("state", no_wrap=True)
    for row in board.databases:
        counts = row.lint.errors or row.lint.warnings
        lint = f"{row.lint.errors}E {row.lint.warnings}W" if counts else "-"
        when = f" {row.last_applied_at}" if row.last_applied_at else ""
        last = f"{row.last_applied}{when}" if row.last_applied else "-"
        cells: list[str | Text] = [
            Text(row.name, URGENCY_STYLE[row.urgency]),
            str(row.applied),
            Text(str(row.pending), "yellow" if row.pending else ""),
            Text(lint, "red" if row.lint.errors else ""),
        ]
        cells += [Text(drift_cell(row), "red" if row.drift else "")] if drift else []
        cells += [last] if wide else []
        table.add_row(*cells, Text(state_label(row), URGENCY_STYLE[row.urgency]))
    return table


def has_drift_data(board: Dashboard) -> bool:
    """True when ``verify`` has a current result for any database: show the drift column."""
    return any(row.drift is not None for row in board.databases)


def drift_cell(row: DatabaseStatus) -> str:
    """``0``, ``3``, or ``-`` when this database has no current verify result."""
    return "-" if row.drift is None else str(row.drift)


def _details(console: Console, board: Dashboard, wide: bool) -> None:
    for row in board.databases:
        lines = _detail_lines(row)
        if not wide and row.last_applied:
            when = f" at {row.last_applied_at}" if row.last_applied_at else ""
            lines.insert(0, Text(f"  last applied: {row.last_applied}{when}", "dim"))
        if not lines:
            continue
        console.print()
        console.print(Text(row.name, "bold " + URGENCY_STYLE[row.urgency]))
        for text in lines:
            console.print(text)
    if board.problems:
        console.print()
        console.print(Text("workspace", "bold"))
        for problem in board.problems:
            console.print(_problem_text(problem))


def _detail_lines(row: DatabaseStatus) -> list[Text]:
    lines = [Text(f"  changed after it was applied: {file}", "bold red") for file in row.changed]
    if row.lock:
        lines.append(Text(f"  lock: {row.lock}", "magenta"))
    if row.next_pending:
        more = (
            f" (+{row.pending - len(row.next_pending)} more)"
            if row.pending > len(row.next_pending)
            else ""
        )
        lines.append(
            Text(
                f"  next: {', '.join(f.rsplit('/', 1)[-1] for f in row.next_pending)}{more}",
                "yellow",
            )
        )
    if row.bookmark:
        lines.append(Text(f"  last release bookmark: {row.bookmark}", "cyan"))
        lines.append(literal(f"  undo: {_undo(row.name, row.bookmark)}", "dim"))
    lines.extend(_problem_text(p) for p in row.problems if p.code != "ledger.changed")
    return lines


def _problem_text(problem: Any) -> Text:
    return Text.assemble(
        "  ",
        (problem.severity.value, SEVERITY_STYLE[problem.severity]),
        f" [{problem.code}] {problem_location(problem)}: {problem.message}",
    )


def render_status_markdown(board: Dashboard) -> str:
    """Paste into a release note or a PR comment."""
    env = f" (env `{board.env}`)" if board.env else ""
    lines = [
        f"### Database status: {board.target}{env}",
        "",
        f"**{board.headline}**",
        "",
        *_markdown_header(has_drift_data(board)),
    ]
    for row in board.databases:
        lint = (
            f"{row.lint.errors} errors, {row.lint.warnings} warnings"
            if row.lint.errors or row.lint.warnings
            else "clean"
        )
        last = (
            f"`{row.last_applied}` {row.last_applied_at or ''}".strip() if row.last_applied else "—"
        )
        state = row.attention or ("up to date" if not row.pending else "ready")
        drift = f" {drift_cell(row)} |" if has_drift_data(board) else ""
        lines.append(
            f"| {_ICON[row.urgency]} | `{row.name}` | {row.applied} | {row.pending} | {lint} |{drift} {last} | {state} |"
        )
    for row in board.databases:
        details = [f"- changed: `{f}`" for f in row.changed]
        details += [f"- next: `{f}`" for f in row.next_pending]
        details += [f"- lock: {row.lock}"] if row.lock else []
        details += [f"- undo: `{_undo(row.name, row.bookmark)}`"] if row.bookmark else []
        details += [
            f"- {p.severity.value} `{p.code}` `{problem_location(p)}`: {p.message}"
            for p in row.problems
        ]
        if details:
            lines += [
                "",
                f"<details><summary><code>{row.name}</code></summary>",
                "",
                *details,
                "",
                "</details>",
            ]
    return "\n".join(lines) + "\n"


def _markdown_header(drift: bool) -> list[str]:
    if not drift:
        return [
            "| | database | applied | pending | lint | last applied | state |",
            "| --- | --- | ---: | ---: | --- | --- | --- |",
        ]
    return [
        "| | database | applied | pending | lint | drift | last applied | state |",
        "| --- | --- | ---: | ---: | --- | ---: | --- | --- |",
    ]


_ICON = {
    Urgency.CHANGED: "🛑",
    Urgency.BROKEN: "🛑",
    Urgency.LOCKED: "🔒",
    Urgency.LINT_ERRORS: "❌",
    Urgency.DRIFT: "❌",
    Urgency.OUT_OF_ORDER: "⚠️",
    Urgency.PENDING: "⏳",
    Urgency.WARNINGS: "✅",
    Urgency.FINE: "✅",
}


def render_status_html(board: Dashboard, root: Path | None = None) -> str:
    """One self-contained HTML page (``reporting.page``); ``root`` makes local file links."""
    return render_status_page(board, root)


def _undo(database: str, bookmark: str) -> str:
    """The Time Travel restore command, each word shell-quoted."""
    return shell_command(
        "wrangler", "d1", "time-travel", "restore", database, restore_flag(bookmark)
    )
