"""The console script's entry point, kept free of heavy imports.

Ctrl-C or SIGTERM while orchestrate is still starting up (importing typer, rich and the
commands, before a command runs) ends it as it ends a run: one line, exit 130 or 143,
no traceback. Nothing has been read or written by then, so there is nothing to undo.
"""

from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _terminated(signum: int, frame: object) -> None:
    os.write(2, b"error: terminated (SIGTERM)\n")
    os._exit(EXIT_TERMINATED)


def _tolerate_narrow_encodings() -> None:
    """On a stdout or stderr that cannot encode a character (``PYTHONIOENCODING=ascii``,
    a latin-1 terminal), print it as ``\\u2026`` rather than fail the command; a JSON
    document stays valid, as that is its own escape."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main() -> None:
    """Import the CLI under quiet signal handling, then run it (it installs its own)."""
    signal.signal(signal.SIGTERM, _terminated)
    _tolerate_narrow_encodings()
    try:
        from orchestrator.cli import main as run_cli  # imported late: the point of this module

        run_cli()
    except KeyboardInterrupt:  # before the command's own boundary took over
        sys.stderr.write("error: interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
