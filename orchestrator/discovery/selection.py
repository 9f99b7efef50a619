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
from orchestrator.model import Database, Workspace
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
    """Keep the databases named by name, id or binding name; an unknown name is a usage error."""
    if not names:
        return workspace
    chosen = {resolve_database(workspace, name).key for name in names}
    kept = tuple(db for db in workspace.databases if db.key in chosen)
    kept_names = {db.name for db in kept}
    problems = tuple(
        p for p in workspace.problems if p.database is None or p.database in kept_names
    )
    return replace(workspace, databases=kept, problems=problems)


def resolve_database(workspace: Workspace, name: str) -> Database:
    """The database ``--db name`` means: a database name, else an id, else a binding
    name (as wrangler takes ``d1 … <name or binding>``), which must then be unambiguous."""
    databases = workspace.databases
    for found in (
        [db for db in databases if db.name == name],
        [db for db in databases if db.key == name],
    ):
        if found:
            return found[0]
    bound = [db for db in databases if any(b.binding == name for b in db.bindings)]
    if len(bound) == 1:
        return bound[0]
    env = f" in env {workspace.env!r}" if workspace.env else ""
    if bound:
        listed = ", ".join(db.name for db in bound)
        raise UsageError(
            f"binding {name!r} names {len(bound)} databases{env}: {listed}",
            hint="pass --db with one of these names, or -c CONFIG for one package",
        )
    close = difflib.get_close_matches(name, [db.name for db in databases], n=1)
    hint = f"did you mean {close[0]!r}?" if close else "run `orchestrate plan` to list them"
    raise UsageError(f"no database called {name!r}{env}", hint=hint)


def display_root(settings: Settings) -> str:
    """The workspace root as the user would type it: relative to the current directory."""
    try:
        rel = os.path.relpath(settings.root, Path.cwd())
    except ValueError:
        return settings.root.as_posix()
    return rel.replace(os.sep, "/")
