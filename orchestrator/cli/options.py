"""Options shared by several commands, so each reads the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrator.errors import UsageError
from orchestrator.reporting.output import Format

RootOpt = Annotated[
    Path | None, typer.Option("--root", help="Workspace root (default: current directory).")
]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help=r"Use the d1_databases of \[env.NAME] (a wrangler environment)."
    ),
]
DbOpt = Annotated[
    list[str] | None, typer.Option("--db", help="Only this database (name or id); repeatable.")
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Output format.")]


def check_format(value: str, *allowed: Format) -> Format:
    """The ``Format`` named by ``value``, if the command supports it."""
    names = [f.value for f in allowed]
    if value not in names:
        hint = f"use one of: {', '.join(names)}"
        raise UsageError(f"--format {value!r} is not supported here", hint=hint)
    return Format(value)


RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--remote/--local", help="Target Cloudflare (--remote) or local D1 state (default)."
    ),
]
EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="Force an engine: local, api or wrangler.")
]
PersistOpt = Annotated[
    Path | None,
    typer.Option("--persist-to", help="Local state directory, as wrangler's --persist-to."),
]
