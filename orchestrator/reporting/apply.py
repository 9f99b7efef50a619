"""Apply output: live progress, the summary table, JSON, and the dry-run SQL."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.engines import Batch
from orchestrator.engines.ledger import Elapsed
from orchestrator.model import Result, RunResult, RunStatus
from orchestrator.reporting.output import print_literal
from orchestrator.reporting.plan import problem_dict, problem_location
from orchestrator.runner.batches import Refusal
from orchestrator.runner.job import Progress

RUN_STYLE = {
    RunStatus.OK: "green",
    RunStatus.UP_TO_DATE: "dim green",
    RunStatus.FAILED: "bold red",
    RunStatus.SKIPPED: "yellow",
    RunStatus.INTERRUPTED: "bold yellow",
}


def run_to_dict(run: RunResult) -> dict[str, Any]:
    """The ``apply --format json`` document (``version`` is added on write)."""
    return {
        "target": run.target,
        "dry_run": run.dry_run,
        "interrupted": run.interrupted,
        "databases": [_result_dict(r, run) for r in run.results],
        "problems": [problem_dict(p) for p in run.problems],
    }


def _result_dict(result: Result, run: RunResult) -> dict[str, Any]:
    ids = {name: (db_id, by_name) for name, db_id, by_name in run.ids}
    db_id, by_name = ids.get(result.database, ("", ""))
    return {
        "name": result.database,
        "id": db_id or None,
        "resolved_by_name": by_name or None,
        "status": result.status.value,
        "applied": [{"name": a.name, "file": a.file, "ms": round(a.ms, 1)} for a in result.applied],
        "error": result.error,
        "file": result.file,
        "line": result.line,
        "targets": list(result.targets),
        "seconds": round(result.seconds, 3),
        "warnings": list(result.warnings),
        "applied_elsewhere": list(result.elsewhere),
        "bookmark": result.bookmark,
        "restore_command": result.restore_command,
        "copies": [
            {"package": package, "status": status, "applied": count}
            for package, status, count in result.copies
        ],
    }


def render_summary(console: Console, run: RunResult) -> None:
    """The table a release manager reads after a run."""
    table = Table(
        title=f"apply: {run.target}", title_justify="left", header_style="bold", pad_edge=False
    )
    table.add_column("database", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("applied", justify="right")
    table.add_column("time", justify="right")
    table.add_column("detail", overflow="fold")
    for r in run.results:
        # Text(), never markup: names and SQLite messages may hold "[…]".
        table.add_row(
            Text(r.database),
            Text(r.status.value, RUN_STYLE[r.status]),
            str(len(r.applied)),
            f"{r.seconds:.2f}s",
            Text(_detail(r)),
        )
    console.print(table)
    for name, db_id, by_name in run.ids:
        if by_name:
            console.print(
                f"{name}: {db_id or 'id looked up by wrangler'} (resolved by name {by_name!r})",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
    for problem in run.problems:
        console.print(
            f"error: {problem_location(problem)}: {problem.message} (its databases were not applied)",
            style="bold red",
            soft_wrap=True,
            markup=False,
        )
    for r in run.results:
        if r.error and r.status is not RunStatus.UP_TO_DATE:
            console.print(
                f"{r.database}: {_where(r)}{r.error}",
                style=RUN_STYLE[r.status],
                soft_wrap=True,
                markup=False,
            )
    _print_restore_commands(console, run)
    if run.interrupted:
        console.print(
            "Interrupted: migrations in flight finished or rolled back; locks released.",
            style="bold yellow",
        )


def _print_restore_commands(console: Console, run: RunResult) -> None:
    """Whole lines, never wrapped, so they can be copied in an emergency."""
    undo = [r for r in run.results if r.restore_command]
    if undo:
        console.print("To undo this release (Time Travel), per database:", style="bold")
    for r in undo:
        print_literal(console, f"  {r.restore_command}")
    if undo:
        console.print(
            "or `orchestrate undo --db NAME --remote`, which checks the ledger afterwards.",
            style="dim",
        )


def _where(result: Result) -> str:
    """``file:line: ``, ``file: `` or nothing: the prefix of a result's error."""
    if result.file and result.line:
        return f"{result.file}:{result.line}: "
    return f"{result.file}: " if result.file else ""


def _detail(result: Result) -> str:
    parts = []
    if result.error:
        parts.append(_where(result) + result.error)
    if result.restore_command:
        parts.append("bookmark saved: undo command below")
    parts.extend(result.warnings)
    parts.extend(f"{package}: {status}, {n} applied" for package, status, n in result.copies)
    return "\n".join(parts)


def render_dry_run(console: Console, planned: Mapping[str, list[Batch] | Refusal]) -> None:
    """Print, per database, the exact statements ``apply`` would send, ledger rows included."""
    for database, batches in planned.items():
        if isinstance(batches, Refusal):
            console.print(
                f"-- ===== {database}: refused: {batches.message}", style="bold red", markup=False
            )
        else:
            render_batches(console, database, batches)


def batches_to_dict(planned: Mapping[str, list[Batch] | Refusal]) -> dict[str, Any]:
    """The dry run as JSON: per database, its batches and their statements and parameters."""
    databases: list[dict[str, Any]] = []
    for database, batches in planned.items():
        if isinstance(batches, Refusal):
            databases.append(
                {"name": database, "refused": batches.message, "file": batches.file, "batches": []}
            )
            continue
        shown = [
            {
                "label": b.label,
                "statements": [
                    {
                        "sql": s.text,
                        "params": [None if isinstance(p, Elapsed) else p for p in s.params],
                    }
                    for s in b.statements
                ],
            }
            for b in batches
        ]
        databases.append({"name": database, "refused": None, "file": None, "batches": shown})
    return {"dry_run": True, "databases": databases}


def render_batches(console: Console, database: str, batches: list[Batch]) -> None:
    """One database's batches as SQL text with parameters in comments."""
    if not batches:
        print_literal(console, f"-- ===== {database}: up to date", "dim")
        return
    print_literal(console, f"-- ===== {database}: {len(batches)} batch(es) =====", "bold cyan")
    for batch in batches:
        print_literal(console, f"-- batch: {batch.label} (atomic)", "cyan")
        for statement in batch.statements:
            text = statement.text
            print_literal(console, text if text.rstrip().endswith(";") else text + ";")
            if statement.params:
                shown = ", ".join(
                    "<elapsed ms>" if isinstance(p, Elapsed) else repr(p) for p in statement.params
                )
                print_literal(console, f"--   params: {shown}", "dim")


@contextmanager
def progress_display(console: Console) -> Iterator[Progress]:
    """Live lines per database on a terminal; plain lines otherwise (both on stderr)."""
    if console.is_terminal:
        with _LiveProgress(console, []) as progress:
            yield progress
    else:
        yield _plain_progress()


def _plain_progress() -> Progress:
    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    return Progress(
        started=lambda db, total: say(f"{db}: {total} to apply"),
        step=lambda db, done, total, file: say(f"{db}: [{done + 1}/{total}] {file}"),
        finished=lambda r: say(f"{r.database}: {r.status.value} ({len(r.applied)} applied)"),
    )


class _LiveProgress:
    """One line per database: n/m, current file, elapsed."""

    def __init__(self, console: Console, databases: list[str]) -> None:
        self.console = console
        self.rows: dict[str, list[Any]] = {
            db: ["waiting", 0, 0, "", time.monotonic()] for db in databases
        }
        self.lock = threading.Lock()
        from rich.live import Live  # lazily: only a terminal run draws it

        self.live = Live(self._render(), console=console, refresh_per_second=8, transient=True)

    def __enter__(self) -> Progress:
        self.live.__enter__()
        return Progress(self._started, self._step, self._finished)

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def _update(self, db: str, **values: Any) -> None:
        with self.lock:
            row = self.rows.setdefault(db, ["waiting", 0, 0, "", time.monotonic()])
            for key, value in values.items():
                row[["state", "done", "total", "file", "since"].index(key)] = value
            self.live.update(self._render())

    def _started(self, db: str, total: int) -> None:
        self._update(db, state="applying", total=total, since=time.monotonic())

    def _step(self, db: str, done: int, total: int, file: str) -> None:
        self._update(db, done=done, total=total, file=file)

    def _finished(self, result: Result) -> None:
        self._update(result.database, state=result.status.value, done=len(result.applied), file="")

    def _render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        for db, (state, done, total, file, since) in self.rows.items():
            elapsed = f"{time.monotonic() - since:5.1f}s" if state == "applying" else ""
            table.add_row(db, state, f"{done}/{total}" if total else "", file, elapsed)
        return table
