"""``orchestrate lint`` and ``orchestrate check``: the rules, and the CI gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.checks.service import check_workspace, lint_workspace
from orchestrator.cli import app, boundary
from orchestrator.cli.options import DbOpt, EnvOpt, FormatOpt, RootOpt, check_format
from orchestrator.reporting.lint import write_report
from orchestrator.reporting.output import Format
from orchestrator.settings import load_settings

REPORT_FORMATS = (Format.TEXT, Format.JSON, Format.SARIF, Format.GITHUB)
PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Migration files or directories (default: every database).", show_default=False
    ),
]


@app.command()
@boundary
def lint(
    paths: PathsArg = None,
    root: RootOpt = None,
    env: EnvOpt = None,
    db: DbOpt = None,
    output: FormatOpt = "text",
) -> None:
    """Check migrations against the rules: naming, idempotency, headers, D1 hazards …

    Example: [bold]orchestrate lint packages/io/migrations --format sarif > lint.sarif[/]
    """
    fmt = check_format(output, *REPORT_FORMATS)
    report = lint_workspace(load_settings(root), env, tuple(db or ()), tuple(paths or ()))
    write_report(report, fmt)
    raise typer.Exit(1 if report.has_errors else 0)


@app.command()
@boundary
def check(
    root: RootOpt = None, env: EnvOpt = None, db: DbOpt = None, output: FormatOpt = "text"
) -> None:
    """CI gate: plan problems, every lint rule and a measured shadow replay; exit 1 on any error.

    Example: [bold]orchestrate check --format github[/]
    """
    fmt = check_format(output, *REPORT_FORMATS)
    report = check_workspace(load_settings(root), env, tuple(db or ()))
    write_report(report, fmt)
    raise typer.Exit(1 if report.has_errors else 0)
