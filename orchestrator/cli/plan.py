"""``orchestrate plan``: what would run where, in which order, and what is wrong."""

from __future__ import annotations

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.options import DbOpt, EnvOpt, FormatOpt, RootOpt, check_format
from orchestrator.reporting.output import Format, console, write_json, write_text
from orchestrator.reporting.plan import plan_to_dict, render_plan_markdown, render_plan_text
from orchestrator.services import make_plan
from orchestrator.settings import load_settings


@app.command()
@boundary
def plan(
    root: RootOpt = None,
    env: EnvOpt = None,
    db: DbOpt = None,
    output: FormatOpt = "text",
) -> None:
    """Show each database's migrations in apply order, with status and problems.

    Example: [bold]orchestrate plan --db io-db --format json[/]
    """
    fmt = check_format(output, Format.TEXT, Format.JSON, Format.MARKDOWN)
    result = make_plan(load_settings(root), env, tuple(db or ()))
    if fmt is Format.JSON:
        write_json(plan_to_dict(result))
    elif fmt is Format.MARKDOWN:
        write_text(render_plan_markdown(result))
    else:
        render_plan_text(console(), result)
    raise typer.Exit(1 if result.has_errors else 0)
