"""Load the workspace a command works on: discovery, the env check, and the
databases the user named. Shared by the services and the checks (which must not
import the services: they are a layer below them)."""

from __future__ import annotations

import difflib
import os
from dataclasses import replace
from pathlib import Path

from orchestrator.discovery import check_env, discover_workspace
from orchestrator.errors import UsageError
from orchestrator.model import Workspace
from orchestrator.settings import Settings


def load_workspace(
    settings: Settings, env: str | None = None, names: tuple[str, ...] = ()
) -> Workspace:
    """Discover the workspace and keep only the databases named (all when none are)."""
    workspace = discover_workspace(settings, env)
    check_env(workspace)
    return select_databases(workspace, names)


def load_every_env(settings: Settings, names: tuple[str, ...] = ()) -> Workspace:
    """The top level's databases and every environment's: static checks need no target.

    A database whose migrations another one already has (one migrations directory bound
    by several envs) is left out, so those files are checked once.
    """
    workspace = discover_workspace(settings, None)
    for env in workspace.d1_envs:
        workspace = _merged(workspace, discover_workspace(settings, env))
    return select_databases(workspace, names)


def _merged(workspace: Workspace, other: Workspace) -> Workspace:
    seen = {tuple(m.file for m in db.migrations) for db in workspace.databases}
    extra = tuple(db for db in other.databases if tuple(m.file for m in db.migrations) not in seen)
    names = {db.name for db in extra}
    problems = tuple(p for p in other.problems if p.database is not None and p.database in names)
    return replace(
        workspace,
        databases=workspace.databases + extra,
        problems=workspace.problems + problems,
        known_databases=workspace.known_databases + tuple(db.name for db in extra),
    )


def select_databases(workspace: Workspace, names: tuple[str, ...]) -> Workspace:
    """Keep the databases named by name or id; an unknown name is a usage error."""
    if not names:
        return workspace
    known = {db.name: db for db in workspace.databases} | {db.key: db for db in workspace.databases}
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, [db.name for db in workspace.databases], n=1)
            hint = f"did you mean {close[0]!r}?" if close else "run `orchestrate plan` to list them"
            env = f" in env {workspace.env!r}" if workspace.env else ""
            raise UsageError(f"no database called {name!r}{env}", hint=hint)
    chosen = {known[n].key for n in names}
    kept = tuple(db for db in workspace.databases if db.key in chosen)
    kept_names = {db.name for db in kept}
    problems = tuple(
        p for p in workspace.problems if p.database is None or p.database in kept_names
    )
    return replace(workspace, databases=kept, problems=problems)


def display_root(settings: Settings) -> str:
    """The workspace root as the user would type it: relative to the current directory."""
    try:
        rel = os.path.relpath(settings.root, Path.cwd())
    except ValueError:
        return settings.root.as_posix()
    return rel.replace(os.sep, "/")
