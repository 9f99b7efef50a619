"""Render a Plan as JSON (the DESIGN.md contract), rich text or Markdown."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.model import (
    Database,
    DatabasePlan,
    Migration,
    Plan,
    Problem,
    Severity,
    Status,
    Step,
)

STATUS_STYLE = {Status.APPLIED: "green", Status.PENDING: "yellow", Status.CHANGED: "bold red"}
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The ``plan --format json`` document (without ``version``, added on write)."""
    return {
        "root": plan.root,
        "target": plan.target,
        "env": plan.env,
        "databases": [_database_dict(db) for db in plan.databases],
        "database_edges": [{"from": a, "to": b} for a, b in plan.database_edges],
        "problems": [problem_dict(p) for p in plan.all_problems],
    }


def _database_dict(db: DatabasePlan) -> dict[str, Any]:
    database = db.database
    return {
        "name": database.name,
        "id": database.id or None,
        "resolved_by_name": database.lookup_name or None,
        "bindings": [
            {
                "package": b.package,
                "binding": b.binding,
                "config": b.config,
                "migrations_dir": b.migrations_dir,
                "migrations_table": b.migrations_table,
                "env": b.env,
            }
            for b in database.bindings
        ],
        "depends_on": list(database.depends_on),
        "migrations": [_step_dict(step) for step in db.steps],
        "pending": len(db.pending),
        "changed": len(db.changed),
        "ledger_read": db.ledger_read,
        "copies": [
            {"package": c.package, "applied": c.applied, "behind": [f"{n}.sql" for n in c.missing]}
            for c in db.copies
        ],
        "inferred_edges": [{"from": a, "to": b} for a, b in db.inferred_edges],
    }


def _step_dict(step: Step) -> dict[str, Any]:
    m = step.migration
    return {
        "name": m.name,
        "number": m.number if m.numbered else None,
        "file": m.file,
        "package": m.package,
        "checksum": m.checksum,
        "status": step.status.value,
        "applied_at": step.applied_at,
        "out_of_order": step.out_of_order,
        "after": list(step.after),
    }


def problem_dict(problem: Problem) -> dict[str, Any]:
    """A problem as JSON."""
    return {
        "severity": problem.severity.value,
        "code": problem.code,
        "message": problem.message,
        "file": problem.file,
        "line": problem.line,
        "database": problem.database,
    }


def problem_location(problem: Problem) -> str:
    """``file:line`` or ``file`` or the database name."""
    if problem.file and problem.line:
        return f"{problem.file}:{problem.line}"
    return problem.file or problem.database or "workspace"


def render_plan_text(console: Console, plan: Plan) -> None:
    """Print a plan for people: per database, bindings then steps then problems."""
    total = sum(len(db.steps) for db in plan.databases)
    pending = sum(len(db.pending) for db in plan.databases)
    env = f" --env {plan.env}" if plan.env else ""
    console.print(
        Text.assemble(
            ("Plan ", "bold"),
            f"for {plan.target}{env}: {len(plan.databases)} databases, {total} migrations, ",
            (f"{pending} pending", "yellow" if pending else "green"),
        )
    )
    for db in plan.databases:
        _render_database(console, db)
    _render_problems(console, plan.problems, "workspace")


def _render_database(console: Console, db: DatabasePlan) -> None:
    database = db.database
    console.print()
    title = Text.assemble((database.name, "bold cyan"), f"  {database_id_text(database)}")
    if database.depends_on:
        title.append(f"  after {', '.join(database.depends_on)}", "dim")
    console.print(title)
    for b in database.bindings:
        env = f" [env {b.env}]" if b.env else ""
        console.print(f"  {b.package} {b.binding}{env} <- {b.migrations_dir}", style="dim")
    for c in db.copies:
        state = f"behind by {len(c.missing)}" if c.missing else "up to date with the others"
        console.print(f"  local copy in {c.package}: {c.applied} applied, {state}", markup=False)
    if db.steps:
        console.print(_steps_table(db))
    else:
        console.print("  no migrations", style="dim")
    _render_problems(console, db.problems, None)


def database_id_text(database: Database) -> str:
    """The id, and how it was found when the config does not give it."""
    if not database.lookup_name:
        return database.id or "no id"
    if not database.id:  # the wrangler engine: wrangler looks the name up on each call
        return f"id looked up by wrangler by name {database.lookup_name!r}"
    return f"{database.id} (resolved by name {database.lookup_name!r})"


def _steps_table(db: DatabasePlan) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, padding=(0, 1))
    table.add_column("  #", justify="right", no_wrap=True)
    table.add_column("file", overflow="fold")
    table.add_column("package", style="dim", overflow="fold")
    table.add_column("status", no_wrap=True)
    for run in _runs(db.steps):
        if len(run) > COLLAPSE_APPLIED:
            first, last = run[0].migration, run[-1].migration
            packages = sorted({s.migration.package for s in run})
            span = f"{_number(first)}-{_number(last)}" if first.numbered else _number(first)
            table.add_row(
                f"  {span}",
                f"{first.wrangler_name} … {last.wrangler_name}",
                packages[0] if len(packages) == 1 else f"{len(packages)} packages",
                Text(f"{len(run)} applied", STATUS_STYLE[Status.APPLIED]),
            )
            continue
        for step in run:
            m = step.migration
            status = Text(step.status.value, STATUS_STYLE[step.status])
            if step.out_of_order:
                status.append(" out of order", "bold yellow")
            table.add_row(f"  {_number(m)}", m.wrangler_name, m.package, status)
    return table


# Longer runs of applied migrations are one row in the text plan (JSON lists each one):
# a plan is read for what is pending, and 10,000 rows took rich 5 s to lay out.
COLLAPSE_APPLIED = 3


def _runs(steps: tuple[Step, ...]) -> list[list[Step]]:
    """``steps`` cut into runs: each plain applied run together (numbered files apart from
    unnumbered ones), every other step alone."""
    runs: list[list[Step]] = []
    for step in steps:
        if (
            runs
            and _plain(step)
            and _plain(runs[-1][-1])
            and (step.migration.numbered == runs[-1][-1].migration.numbered)
        ):
            runs[-1].append(step)
        else:
            runs.append([step])
    return runs


def _plain(step: Step) -> bool:
    return step.status is Status.APPLIED and not step.out_of_order


def _number(migration: Migration) -> str:
    return f"{migration.number:04d}" if migration.numbered else "----"


def _render_problems(console: Console, problems: tuple[Problem, ...], heading: str | None) -> None:
    if not problems:
        return
    if heading:
        console.print()
        console.print(f"Problems ({heading})", style="bold")
    for p in problems:
        console.print(
            Text.assemble(
                "  ",
                (f"{p.severity.value}", SEVERITY_STYLE[p.severity]),
                f" [{p.code}] ",
                (problem_location(p), "bold"),
                f": {p.message}",
            )
        )


def render_plan_markdown(plan: Plan) -> str:
    """A plan as Markdown, for a pull-request comment or release note."""
    pending = sum(len(db.pending) for db in plan.databases)
    lines = [
        f"### orchestrate plan: {plan.target}{f' (env {plan.env})' if plan.env else ''}",
        "",
        f"**{pending} pending** across {len(plan.databases)} databases.",
        "",
        "| database | packages | applied | pending | changed | problems |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for db in plan.databases:
        packages = ", ".join(sorted({b.package for b in db.database.bindings}))
        applied = sum(1 for s in db.steps if s.status is Status.APPLIED)
        lines.append(
            f"| `{db.database.name}` | {packages} | {applied} | {len(db.pending)} | "
            f"{len(db.changed)} | {len(db.problems)} |"
        )
    for db in plan.databases:
        if db.pending or db.changed:
            lines += [
                "",
                f"<details><summary><code>{db.database.name}</code>: {len(db.pending)} pending</summary>",
                "",
            ]
            lines += [
                f"- `{s.migration.file}` ({s.status.value})"
                for s in db.steps
                if s.status is not Status.APPLIED
            ]
            lines += ["", "</details>"]
    problems = plan.all_problems
    if problems:
        lines += ["", "#### Problems", ""]
        icon = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
        lines += [
            f"- {icon[p.severity]} **{p.severity.value}** `{p.code}` `{problem_location(p)}`: {p.message}"
            for p in problems
        ]
    return "\n".join(lines) + "\n"
