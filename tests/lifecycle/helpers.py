"""Helpers for lifecycle tests: real wrangler, hand-applied databases, git."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from orchestrator.discovery import discover_workspace
from orchestrator.settings import load_settings
from tests.apply.helpers import state_path


def migration_files(root: Path, database: str, env: str | None = None) -> list[Path]:
    """The database's migration files in plan order."""
    workspace = discover_workspace(load_settings(root), env)
    db = next(d for d in workspace.databases if d.name == database)
    from orchestrator.planning.graph import order_migrations

    return [root / m.file for m in order_migrations(db.migrations).order]


def apply_by_hand(root: Path, database: str, upto: int, package: str | None = None) -> Path:
    """Run the first ``upto`` migrations as `wrangler d1 execute --file` would: no ledger."""
    path = state_path(root, database, package)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        for file in migration_files(root, database)[:upto]:
            connection.executescript(file.read_text(encoding="utf-8"))
    finally:
        connection.close()
    return path


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout
