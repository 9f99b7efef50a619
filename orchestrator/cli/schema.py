"""Schema commands: ``verify``, ``revert``, ``types``, ``seed`` and ``recreate``."""

from __future__ import annotations

import typer

from orchestrator.cli import app, boundary
from orchestrator.cli.options import (
    DbOpt,
    EngineOpt,
    EnvOpt,
    FormatOpt,
    PersistOpt,
    RemoteOpt,
    RootOpt,
    check_format,
)
from orchestrator.reporting.output import Format, console, write_json, write_text
from orchestrator.reporting.schema import render_verify_markdown, render_verify_text, verify_to_dict
from orchestrator.schema.verify import record_report, verify_databases
from orchestrator.services import ApplyRequest
from orchestrator.settings import load_settings


@app.command()
@boundary
def verify(
    db: DbOpt = None,
    root: RootOpt = None,
    env: EnvOpt = None,
    remote: RemoteOpt = False,
    engine: EngineOpt = None,
    persist_to: PersistOpt = None,
    output: FormatOpt = "text",
) -> None:
    """Schema drift: compare each target's schema with what its applied migrations
    produce (shadow replay); exit 1 on any difference. Reads the target only.

    Example: [bold]orchestrate verify --db io-db --remote --format json[/]
    """
    fmt = check_format(output, Format.TEXT, Format.JSON, Format.MARKDOWN)
    request = ApplyRequest(load_settings(root), env, tuple(db or ()), remote, engine, persist_to)
    report = verify_databases(request)
    record_report(request, report)
    if fmt is Format.JSON:
        write_json(verify_to_dict(report))
    elif fmt is Format.MARKDOWN:
        write_text(render_verify_markdown(report))
    else:
        render_verify_text(console(), report)
    raise typer.Exit(0 if report else 1)
