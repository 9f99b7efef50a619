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


class GuardedGroup(TyperGroup):
    """The app's command group: refuses contradicting flags before any command runs."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        refuse_contradictions(args)
        return list(super().parse_args(ctx, args))
