"""Helpers for the schema tests: a tiny workspace, sqlite edits, and real wrangler."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import toml_binding, wrangler_path

WRANGLER = wrangler_path()
DB_ID = "00000000-0000-0000-0000-0000000000aa"

SHOP = {
    "0001_customers.sql": """
        CREATE TABLE IF NOT EXISTS customers (
          id TEXT PRIMARY KEY,
          email TEXT NOT NULL,
          tier TEXT NOT NULL DEFAULT 'free',
          created_at TEXT DEFAULT (datetime('now'))
        );
        CREATE UNIQUE INDEX IF NOT EXISTS idx_customers_email ON customers(email);
        """,
    "0002_orders.sql": """
        CREATE TABLE IF NOT EXISTS orders (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
          total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
          note TEXT
        );
        CREATE INDEX IF NOT EXISTS idx_orders_customer_id ON orders(customer_id);
        CREATE VIEW IF NOT EXISTS big_orders AS SELECT * FROM orders WHERE total_cents > 10000;
        """,
}


def shop_tree(migrations: dict[str, str] | None = None, name: str = "shop-db") -> dict[str, str]:
    """``{path: text}`` for a one-package workspace with the shop migrations."""
    files = {"shop/wrangler.toml": toml_binding(name, DB_ID)}
    for file, text in (migrations or SHOP).items():
        files[f"shop/migrations/{file}"] = text
    return files


def execute(path: Path, script: str) -> None:
    """Run SQL on a local state file behind orchestrate's back (drift, data)."""
    connection = sqlite3.connect(path)
    try:
        connection.executescript(script)
    finally:
        connection.close()


def wrangler(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the pinned wrangler offline in ``cwd``."""
    assert WRANGLER is not None
    env = dict(os.environ, WRANGLER_SEND_METRICS="false", CI="true")
    return subprocess.run(
        [WRANGLER, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def wrangler_rows(cwd: Path, db: str, sql: str) -> list[dict[str, Any]]:
    """``wrangler d1 execute --local --json --command`` and the rows of its last statement."""
    result = wrangler(cwd, "d1", "execute", db, "--local", "--json", "--command", sql)
    assert result.returncode == 0, result.stdout + result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)[-1]["results"]
    return rows
