"""Where output goes: machine formats to stdout, written whole; people's text via rich."""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Any, TextIO

from rich.console import Console

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


def console(stderr: bool = False, width: int | None = None) -> Console:
    """A rich console that respects NO_COLOR and plain pipes."""
    return Console(
        file=sys.stderr if stderr else sys.stdout,
        width=width,
        no_color="NO_COLOR" in os.environ,
        highlight=False,
        soft_wrap=False,
    )


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
