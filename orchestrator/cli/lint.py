"""``orchestrate lint`` and ``orchestrate check``: the rules, and the CI gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.options import CONFIG, DB, ENV, ROOT, Scope, formats, shared
from orchestrator.reporting.lint import write_report
from orchestrator.reporting.output import Format, write_text

REPORT_FORMATS = (Format.TEXT, Format.JSON, Format.SARIF, Format.GITHUB)
PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Migration files or directories (default: every database).", show_default=False
    ),
]


@app.command()
@boundary
@shared(DB, ROOT, CONFIG, ENV, formats(*REPORT_FORMATS))
def lint(scope: Scope, paths: PathsArg = None) -> None:
    """Check migrations against the rules: naming, idempotency, headers, D1 hazards …

    Example: [bold]orchestrate lint packages/io/migrations --format sarif > lint.sarif[/]
    """
    from orchestrator.checks.service import lint_workspace  # lazily: only lint needs it

    report = lint_workspace(scope.settings(), scope.env, scope.db, tuple(paths or ()))
    write_report(report, scope.format)
    raise typer.Exit(1 if report.has_errors else 0)


@app.command()
@boundary
@shared(DB, ROOT, CONFIG, ENV, formats(*REPORT_FORMATS, Format.MARKDOWN))
def check(scope: Scope) -> None:
    """CI gate: plan problems, every lint rule and a measured shadow replay; exit 1 on any error.

    Example: [bold]orchestrate check --format github[/]   ·   [bold]orchestrate check --format markdown[/]
    """
    from orchestrator.checks.service import check_workspace

    settings = scope.settings()
    report = check_workspace(settings, scope.env, scope.db)
    if scope.format is Format.MARKDOWN:
        from orchestrator.reporting.comment import render_check_markdown
        from orchestrator.services import make_plan

        plan = make_plan(settings, scope.env, scope.db)
        write_text(render_check_markdown(report, plan))
    else:
        write_report(report, scope.format)
    raise typer.Exit(1 if report.has_errors else 0)
