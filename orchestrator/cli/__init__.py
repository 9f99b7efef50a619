"""The command line: thin typer commands over ``orchestrator.services``.

All errors cross one boundary (``boundary``), which prints one line with a hint
and maps the error to its exit code. Tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from orchestrator import __version__
from orchestrator.cli.guards import GuardedGroup
from orchestrator.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_PIPE,
    EXIT_TERMINATED,
    EXIT_USAGE,
    OrchestrateError,
)

app = typer.Typer(
    name="orchestrate",
    cls=GuardedGroup,
    help="Plan, check and apply Cloudflare D1 migrations across a Workers monorepo.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

_state: dict[str, bool] = {"debug": False, "terminated": False}
F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"orchestrate {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks for errors (before or after the command)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Plan, check and apply Cloudflare D1 migrations across a Workers monorepo.

    Example: [bold]orchestrate plan --root . --format json[/]
    """
    _state["debug"] = debug
    if debug:
        _log_to_stderr()


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


def _log_to_stderr() -> None:
    """With --debug: every remote call and retry (tokens never reach a log record)."""
    for name in ("orchestrator", "httpx"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
            logger.addHandler(handler)


def fail(message: str, hint: str = "") -> None:
    """Print the one-line error (and its hint) to stderr."""
    typer.secho(f"error: {message}", fg="red", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)


def boundary(command: F) -> F:
    """Run a command, turning every error into one line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            os.getcwd()
        except FileNotFoundError:
            fail("the current directory no longer exists", "cd to the workspace and run again")
            raise typer.Exit(EXIT_USAGE) from None
        try:
            return command(*args, **kwargs)
        except typer.Exit as done:
            if done.exit_code == EXIT_INTERRUPTED and _state.get("terminated"):
                raise typer.Exit(EXIT_TERMINATED) from None
            raise
        except BrokenPipeError:
            _quiet_pipe()
            raise typer.Exit(EXIT_PIPE) from None
        except OrchestrateError as exc:
            _debug_trace()
            fail(str(exc), exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            terminated = bool(_state.get("terminated"))
            fail("terminated (SIGTERM)" if terminated else "interrupted")
            raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED) from None
        except Exception as exc:
            _debug_trace()
            fail(
                f"internal error: {type(exc).__name__}: {exc}",
                "run again with --debug and report it",
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


def _quiet_pipe() -> None:
    """The reader went away (``| head -1``): end quietly, as Unix tools do."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM is handled like Ctrl-C: migrations in flight end, locks are released,
    the summary is printed; the exit code is 143."""
    _state["terminated"] = True
    raise KeyboardInterrupt


def _debug_trace() -> None:
    if _state["debug"]:
        traceback.print_exc(file=sys.stderr)


# The module that defines each command: `main` imports just the one invoked, since
# importing them all costs ~80 ms on every run. A test keeps this table complete.
COMMAND_MODULES = {
    "plan": "plan",
    "apply": "apply",
    "unlock": "apply",
    "status": "dashboard",
    "graph": "dashboard",
    "history": "history",
    "undo": "undo",
    "lint": "lint",
    "check": "lint",
    "init": "lifecycle",
    "new": "lifecycle",
    "normalize": "lifecycle",
    "baseline": "lifecycle",
    "adopt": "lifecycle",
    "repair": "lifecycle",
    "verify": "schema",
    "revert": "schema",
    "types": "schema",
    "seed": "schema",
    "recreate": "schema",
    "ci": "ci",
}


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
    module = COMMAND_MODULES.get(command)
    if module is None:  # help, or a name typer should answer with "no such command"
        importlib.import_module("orchestrator.cli.commands")
    else:
        importlib.import_module(f"orchestrator.cli.{module}")
    app()
