"""Where output goes: machine formats to stdout, written whole; people's text via rich."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, TextIO

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

JSON_VERSION = 1


class Format(StrEnum):
    """Output formats a reporting command may accept."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    GITHUB = "github"
    HTML = "html"
    MERMAID = "mermaid"
    DOT = "dot"


# Control characters other than newline and tab: shown escaped, never sent to the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` (an ESC in a name stays visible text)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SafeConsole(Console):
    """A console for user text: strings are never read as markup (``[/docs]`` in a
    migration, ``[bold]`` in a file name print as written), no ``:emoji:`` codes, and
    control characters in any text are escaped; rich's own styling is added after this."""

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and _CONTROL.search(segment.text):
                yield Segment(escape_controls(segment.text), segment.style)
            else:
                yield segment


def literal(text: str, style: str = "") -> Text:
    """Text meant to be copied (SQL, a file path, an undo command): never wrapped or cut,
    at any width, piped or not; the terminal may fold it visually, the bytes stay one line."""
    return Text(text, style=style, no_wrap=True, overflow="ignore", end="\n")


def print_literal(console: Console, text: str, style: str = "") -> None:
    """Print ``text`` as it is: no hard wrap, no markup, no highlighting."""
    console.print(literal(text, style), soft_wrap=True, markup=False, highlight=False)


def console(stderr: bool = False, width: int | None = None) -> Console:
    """A rich console that respects NO_COLOR and plain pipes, and never reads user text as markup."""
    return SafeConsole(
        file=sys.stderr if stderr else sys.stdout,
        width=_width(width),
        no_color="NO_COLOR" in os.environ,
        highlight=False,
        soft_wrap=False,
        markup=False,
        emoji=False,
    )


def _width(width: int | None) -> int | None:
    """``COLUMNS=0`` (or nonsense) would print nothing: fall back to 80 columns."""
    if width is not None:
        return max(width, 20)
    columns = os.environ.get("COLUMNS")
    if columns is not None and not (columns.isdigit() and int(columns) >= 20):
        return 80
    return None


def write_json(data: dict[str, Any], stream: TextIO | None = None) -> None:
    """Write a versioned JSON document to stdout in one piece."""
    out = stream or sys.stdout
    document = {"version": JSON_VERSION, **data}
    # Indented only for a person at a terminal: indent forces json's slow pure-Python encoder.
    indent = 2 if out.isatty() else None
    out.write(json.dumps(document, indent=indent, ensure_ascii=False) + "\n")


def write_text(text: str, stream: TextIO | None = None) -> None:
    """Write plain text (Markdown, SARIF, annotations) to stdout."""
    (stream or sys.stdout).write(text if text.endswith("\n") else text + "\n")
