"""Helpers for apply tests: run the CLI, open a binding's local state, compare schemas."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from orchestrator.cli.commands import app
from orchestrator.discovery import discover_workspace
from orchestrator.engines.localstate import state_file
from orchestrator.settings import Settings

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    """Run orchestrate in-process; returns (exit code, stdout, stderr)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def cli_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = cli(*args, "--format", "json")
    return code, json.loads(out)


def spawn(*args: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start orchestrate as a real process (for kill -9, SIGINT and concurrency tests)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def state_path(root: Path, database: str, package: str | None = None) -> Path:
    """The local D1 file of ``database`` as bound by ``package`` (default: its first binding)."""
    workspace = discover_workspace(Settings(root=root))
    db = next(d for d in workspace.databases if d.name == database)
    binding = next(b for b in db.bindings if package is None or b.package == package)
    return state_file(root, binding)


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def schema(path: Path) -> list[tuple[Any, ...]]:
    """User schema (no ledgers, no internal tables), for comparing two databases."""
    return query(
        path,
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE '\\_migrations%' ESCAPE '\\' "
        "AND name <> 'd1_migrations' ORDER BY type, name",
    )


def ledger(path: Path) -> list[str]:
    return [r[0] for r in query(path, "SELECT filename FROM _migrations ORDER BY id")]
