"""Generate a synthetic monorepo: N packages, each binding its own D1 database
with M migrations (one table, an index, an idempotent seed each). Used by every
benchmark so they all measure the same tree."""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

HEADER = """-- Migration: {n:04d} - Create {table}
-- Created: 2025-01-01
-- Purpose: Synthetic table {table} for benchmarks.
--
-- Changes:
-- - Create {table}
--
-- Verification:
-- SELECT name FROM sqlite_master WHERE type='table' AND name='{table}';
"""

BODY = """
CREATE TABLE IF NOT EXISTS {table} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT 'x; not a statement end',
  created_at TEXT DEFAULT (datetime('now')),
  updated_at TEXT DEFAULT (datetime('now'))
);

CREATE INDEX IF NOT EXISTS idx_{table}_owner ON {table}(owner_id);

INSERT OR IGNORE INTO {table} (id, owner_id, label) VALUES (1, 'seed', 'first');
"""


def database_id(package: int) -> str:
    """A stable UUID per package, so runs are comparable."""
    return str(uuid.UUID(int=package + 1))


def generate(root: Path, packages: int = 100, migrations: int = 100) -> Path:
    """Write the tree under ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text('{"name": "synthetic", "private": true}\n')
    for p in range(packages):
        pkg = root / "packages" / f"pkg{p:03d}"
        (pkg / "migrations").mkdir(parents=True, exist_ok=True)
        (pkg / "wrangler.toml").write_text(
            f'name = "pkg{p:03d}"\nmain = "src/index.ts"\ncompatibility_date = "2025-01-15"\n\n'
            f'[[d1_databases]]\nbinding = "DB"\ndatabase_name = "db{p:03d}"\n'
            f'database_id = "{database_id(p)}"\n'
        )
        for n in range(1, migrations + 1):
            table = f"t{p:03d}_{n:04d}"
            text = HEADER.format(n=n, table=table) + BODY.format(table=table)
            (pkg / "migrations" / f"{n:04d}_create_{table}.sql").write_text(text)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--migrations", type=int, default=100)
    args = parser.parse_args()
    generate(args.root, args.packages, args.migrations)


if __name__ == "__main__":
    main()
