"""The question ``apply --remote`` asks on a terminal, as ``wrangler d1 migrations apply`` does.

wrangler 4.164 asks "About to apply N migration(s) … continue?" (default yes) when stdin
and stdout are terminals and no CI is detected; elsewhere it goes on with the fallback
answer, yes. orchestrate does the same, and ``-y/--yes`` skips the question.
"""

from __future__ import annotations

import os
import sys

import typer

from orchestrator.services import ApplyRequest, make_plan

# What ci-info (which wrangler uses) looks at first: CI=false turns detection off.
_CI_VARIABLES = (
    "CI",
    "CONTINUOUS_INTEGRATION",
    "BUILD_ID",
    "BUILD_NUMBER",
    "RUN_ID",
    "CI_NAME",
    "GITHUB_ACTIONS",
)


def in_ci() -> bool:
    """True on a CI runner (``CI=false`` says it is not one)."""
    if os.environ.get("CI", "").lower() == "false":
        return False
    return any(os.environ.get(name) for name in _CI_VARIABLES)


def interactive() -> bool:
    """A person at a terminal: stdin and stdout are terminals, and this is not CI."""
    try:
        terminals = sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
    return terminals and not in_ci()


def confirm_remote_apply(request: ApplyRequest, yes: bool) -> bool:
    """Ask before a remote apply on a terminal; True when it may go on."""
    if not request.remote or yes or not interactive():
        return True
    plan = make_plan(request.settings, request.env, request.names, request.make_engine())
    pending = [(db.database.name, len(db.pending)) for db in plan.databases if db.pending]
    if not pending:
        return True  # nothing to ask about: apply says "up to date"
    total = sum(count for _, count in pending)
    names = ", ".join(name for name, _ in pending)
    plural = "migration" if total == 1 else "migrations"
    databases = "database" if len(pending) == 1 else "databases"
    question = (
        f"About to apply {total} {plural} to {len(pending)} remote {databases} ({names}).\n"
        "Each database may not serve requests while its migrations run. Continue?"
    )
    if typer.confirm(question, default=True, err=True):
        return True
    typer.echo("Nothing applied.", err=True)
    return False
