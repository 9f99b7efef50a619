"""Helpers for the schema tests: a tiny workspace, sqlite edits, and real wrangler."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import toml_binding

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
