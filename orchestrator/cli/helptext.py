"""How ``--help`` reads: commands in workflow order and grouped, plain option help.

typer shows each option's Python type (``<bool>``, ``<list[str]>``, ``[x>=1]``) and reads
help text as rich markup (``[env.NAME]`` would vanish). :func:`tidy_command` fixes both
in one place, for every command, whatever its options are, and joins the lines of each
command's summary (rich markup mode keeps a docstring's line breaks).
"""

from __future__ import annotations

import inspect
from typing import Any

from rich.markup import escape

# The order a release manager meets the commands in, and the panel each one is shown in.
WORKFLOW: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Set up", ("init", "new")),
    ("Check", ("lint", "check", "plan")),
    ("Release", ("apply", "status", "history", "undo", "verify", "graph")),
    ("Schema", ("types", "seed", "revert", "recreate")),
    ("Bring a database under orchestrate", ("adopt", "baseline", "normalize", "repair")),
    ("Maintain", ("unlock", "ci")),
)
PANELS = {name: panel for panel, names in WORKFLOW for name in names}
ORDER = [name for _, names in WORKFLOW for name in names]


def workflow_order(names: list[str]) -> list[str]:
    """``names`` in workflow order; names the table does not know go last, as given."""
    known = [n for n in ORDER if n in names]
    return known + [n for n in names if n not in PANELS]


def tidy_command(command: Any, ctx: Any) -> Any:
    """Give ``command`` its panel and make its options' help plain (once)."""
    if getattr(command, "_orchestrate_tidy", False):
        return command
    if command.name in PANELS and not getattr(command, "rich_help_panel", None):
        command.rich_help_panel = PANELS[command.name]
    if command.help:
        command.help = one_line_summary(command.help)
    for param in command.get_params(ctx):
        tidy_param(param)
    command._orchestrate_tidy = True
    return command


def one_line_summary(text: str) -> str:
    """``text`` with its first paragraph on one line: rich markup mode keeps a docstring's
    line breaks, which cut the command list's summaries mid-sentence."""
    first, sep, rest = inspect.cleandoc(text).partition("\n\n")
    return " ".join(first.split("\n")) + sep + rest


def tidy_param(param: Any) -> None:
    """No type names, no number ranges, help text as written (never markup)."""
    if param.param_type_name == "option":
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
        elif param.metavar is None:
            param.metavar = param.name.upper().replace("_", "-")
        param._get_number_range_help_str = lambda: None
    else:  # an argument: its name is shown, never its type
        if param.metavar is None:
            param.metavar = param.name.upper()
        param.display_type_rich = lambda ctx: None
    if param.help:
        param.help = escape(param.help)
