"""Checks on the raw command line that typer's own parsing cannot make.

``--remote/--local`` is one flag to typer, so ``--local --remote`` would silently
mean the last one: a command meant for local state would write to production.
:func:`refuse_contradictions` is a plain function of the argument list, so it keeps
working whatever shape the shared options take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typer._click.exceptions import UsageError as _UsageError  # prints "Error: …", exits 2
from typer.core import TyperGroup

from orchestrator.cli.helptext import tidy_command, workflow_order

CONTRADICTIONS = (("--local", "--remote"),)


def contradiction(args: Sequence[str]) -> tuple[str, str] | None:
    """The first pair of flags given together that contradict each other, if any."""
    given = set()
    for arg in args:
        if arg == "--":  # what follows is not ours to read
            break
        given.add(arg)
    return next(((a, b) for a, b in CONTRADICTIONS if a in given and b in given), None)


def refuse_contradictions(args: Sequence[str]) -> None:
    """A usage error (exit 2) when the command line holds a contradicting pair."""
    found = contradiction(args)
    if found is not None:
        raise _UsageError(f"{found[0]} and {found[1]} contradict each other: pass one")


def debug_first(args: Sequence[str]) -> list[str]:
    """``--debug`` anywhere before ``--`` (``orchestrate plan --debug``), moved to the front,
    where the group reads it: wrangler takes its global flags after the command too."""
    end = list(args).index("--") if "--" in args else len(args)
    if "--debug" not in args[:end]:
        return list(args)
    rest = [a for i, a in enumerate(args) if i >= end or a != "--debug"]
    return ["--debug", *rest]


class GuardedGroup(TyperGroup):
    """The app's command group: refuses contradicting flags before any command runs,
    reads ``--debug`` anywhere, lists commands in workflow order with plain help."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        refuse_contradictions(args)
        return list(super().parse_args(ctx, debug_first(args)))

    def list_commands(self, ctx: Any) -> list[str]:
        return workflow_order(list(super().list_commands(ctx)))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        return tidy_command(command, ctx) if command is not None else None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        tidy_command(self, ctx)
        super().format_help(ctx, formatter)
