"""`orchestrate verify`: no drift after apply, each kind of drift found, cosmetics ignored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from orchestrator.checks.schema import (
    SNAPSHOT_QUERIES,
    rows_in_order,
    snapshot_from_rows,
    snapshot_schema,
)
from tests.apply.helpers import cli, cli_json, state_path
from tests.conftest import WRANGLER, TreeWriter, wrangler_rows
from tests.conftest import run_wrangler as wrangler
from tests.schema.helpers import execute, shop_tree


def applied_shop(tree: TreeWriter) -> tuple[Path, Path]:
    root = tree(shop_tree())
    code, _, err = cli("apply", "--all", "--root", str(root))
    assert code == 0, err
    return root, state_path(root, "shop-db")


def drift(root: Path) -> tuple[int, list[dict[str, object]]]:
    code, doc = cli_json("verify", "--root", str(root))
    return code, [d for db in doc["databases"] for t in db["targets"] for d in t["differences"]]


def test_no_drift_after_apply(tree: TreeWriter) -> None:
    root, _ = applied_shop(tree)
    code, out, _ = cli("verify", "--root", str(root))
    assert code == 0, out
    assert "✓ shop-db (shop): 2 applied, no drift" in out
    assert "no drift in 1 database" in out


def test_fixture_monorepo_has_no_drift_after_apply(monorepo: Path) -> None:
    assert cli("apply", "--all", "--root", str(monorepo))[0] == 0
    code, doc = cli_json("verify", "--root", str(monorepo))
    assert code == 0 and doc["ok"] is True
    assert {d["name"] for d in doc["databases"]} >= {"io-db", "templates-platform-db"}
    assert all(t["applied"] > 0 for d in doc["databases"] for t in d["targets"])


def test_nothing_applied_is_no_drift(tree: TreeWriter) -> None:
    root = tree(shop_tree())
    code, out, _ = cli("verify", "--root", str(root))
    assert code == 0 and "nothing applied yet, no drift" in out
    assert not state_path(root, "shop-db").exists(), "verify must not create the target"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            "CREATE INDEX idx_orders_note ON orders(note);",
            ("index", "extra", "idx_orders_note"),
        ),
        ("ALTER TABLE orders DROP COLUMN note;", ("column", "missing", "orders.note")),
        (
            "DROP VIEW big_orders; CREATE VIEW big_orders AS SELECT * FROM orders WHERE total_cents > 5;",
            ("view", "different", "big_orders"),
        ),
        (
            "DROP INDEX idx_customers_email; CREATE INDEX idx_customers_email ON customers(email);",
            ("index", "different", "idx_customers_email"),
        ),
    ],
)
def test_drift_is_found_with_exit_1(tree: TreeWriter, edit: str, expected: tuple[str, ...]) -> None:
    root, path = applied_shop(tree)
    execute(path, edit)
    code, found = drift(root)
    assert code == 1
    assert [(d["kind"], d["change"], d["name"]) for d in found] == [expected]


def recreate_orders(path: Path, definition: str) -> None:
    execute(
        path,
        f"""
        PRAGMA foreign_keys = OFF;
        DROP VIEW big_orders;
        ALTER TABLE orders RENAME TO orders_old;
        CREATE TABLE orders ({definition});
        DROP TABLE orders_old;
        CREATE INDEX idx_orders_customer_id ON orders(customer_id);
        CREATE VIEW big_orders AS SELECT * FROM orders WHERE total_cents > 10000;
        """,
    )


def test_changed_default_and_different_foreign_key(tree: TreeWriter) -> None:
    root, path = applied_shop(tree)
    execute(
        path,
        """
        PRAGMA foreign_keys = OFF;
        ALTER TABLE customers RENAME TO customers_old;
        CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT NOT NULL,
          tier TEXT NOT NULL DEFAULT 'pro', created_at TEXT DEFAULT (datetime('now')));
        DROP TABLE customers_old;
        CREATE UNIQUE INDEX idx_customers_email ON customers(email);
        """,
    )
    recreate_orders(
        path,
        "id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id TEXT NOT NULL REFERENCES customers(id) "
        "ON DELETE SET NULL, total_cents INTEGER NOT NULL CHECK (total_cents >= 0), note TEXT",
    )
    code, found = drift(root)
    assert code == 1
    by_kind = {(d["kind"], d["change"]): d for d in found}
    tier = by_kind[("column", "different")]
    assert tier["name"] == "customers.tier"
    assert tier["expected"] == "TEXT NOT NULL DEFAULT 'free'"
    assert tier["actual"] == "TEXT NOT NULL DEFAULT 'pro'"
    assert "ON DELETE CASCADE" in str(by_kind[("foreign key", "missing")]["expected"])
    assert "ON DELETE SET NULL" in str(by_kind[("foreign key", "extra")]["actual"])
    assert len(found) == 3


def test_a_changed_collation_is_drift(tree: TreeWriter) -> None:
    # email compared case-insensitively by hand in production: its UNIQUE index now
    # refuses 'A@x' beside 'a@x'. PRAGMA table_xinfo does not show it; the CREATE text does.
    root, path = applied_shop(tree)
    execute(
        path,
        """
        PRAGMA foreign_keys = OFF;
        PRAGMA legacy_alter_table = ON;  -- orders keeps referring to customers
        ALTER TABLE customers RENAME TO customers_old;
        CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT NOT NULL COLLATE NOCASE,
          tier TEXT NOT NULL DEFAULT 'free', created_at TEXT DEFAULT (datetime('now')));
        DROP TABLE customers_old;
        CREATE UNIQUE INDEX idx_customers_email ON customers(email);
        """,
    )
    code, found = drift(root)
    assert code == 1
    [email] = found
    assert (email["kind"], email["change"], email["name"]) == (
        "column",
        "different",
        "customers.email",
    )
    assert (
        email["expected"] == "TEXT NOT NULL" and email["actual"] == "TEXT NOT NULL COLLATE NOCASE"
    )


def test_cosmetic_differences_are_not_drift(tree: TreeWriter) -> None:
    root, path = applied_shop(tree)
    # Same table with other whitespace, quoting, case, column order in the text and no
    # IF NOT EXISTS; the same view and index spelled differently.
    recreate_orders(
        path,
        '"note"   text,\n  "ID" integer primary key autoincrement, total_cents INTEGER NOT NULL '
        'CHECK ((total_cents >= 0)),\n  [customer_id] TEXT NOT NULL REFERENCES "customers" (id) '
        "ON DELETE CASCADE",
    )
    execute(
        path,
        """
        DROP INDEX idx_customers_email;
        CREATE UNIQUE INDEX IF NOT EXISTS "idx_customers_email" ON "customers" ( "email" );
        DROP VIEW big_orders;
        CREATE VIEW "big_orders" AS
          SELECT *   FROM "orders"   WHERE total_cents > 10000;
        """,
    )
    code, found = drift(root)
    assert (code, found) == (0, [])


def test_ledgers_and_internal_tables_are_ignored(tree: TreeWriter) -> None:
    root, path = applied_shop(tree)
    execute(path, "CREATE TABLE _seeds (x); CREATE INDEX idx_ledger ON _migrations(checksum);")
    assert drift(root) == (0, [])


def test_changed_file_is_noted_and_compared_with_its_current_text(tree: TreeWriter) -> None:
    root, _ = applied_shop(tree)
    migration = root / "shop/migrations/0002_orders.sql"
    migration.write_text(
        migration.read_text() + "\nCREATE INDEX IF NOT EXISTS idx_x ON orders(note);\n"
    )
    code, doc = cli_json("verify", "--root", str(root))
    target = doc["databases"][0]["targets"][0]
    assert code == 1 and "changed after it was applied" in target["notes"][0]
    assert [d["name"] for d in target["differences"]] == ["idx_x"]


def test_markdown_report(tree: TreeWriter) -> None:
    root, path = applied_shop(tree)
    execute(path, "CREATE INDEX idx_orders_note ON orders(note);")
    code, out, _ = cli("verify", "--root", str(root), "--format", "markdown")
    assert code == 1
    assert "| ❌ | `shop-db` | `shop` | 2 | 1 |" in out
    assert "- **extra**: index idx_orders_note: (note) is in the target" in out


def test_status_shows_drift_from_the_last_verify_until_the_ledger_moves(tree: TreeWriter) -> None:
    root, path = applied_shop(tree)
    _, board = cli_json("status", "--root", str(root))
    assert board["databases"][0]["drift"] is None
    _, out, _ = cli("status", "--root", str(root))
    assert " drift " not in out.splitlines()[2]
    execute(path, "CREATE INDEX idx_orders_note ON orders(note);")
    assert cli("verify", "--root", str(root))[0] == 1
    assert (root / ".orchestrate/.gitignore").read_text().strip().endswith("*")
    _, board = cli_json("status", "--root", str(root))
    assert board["databases"][0]["drift"] == 1
    assert "schema drift: 1 difference" in board["attention"]
    _, md, _ = cli("status", "--root", str(root), "--format", "markdown")
    assert "| drift |" in md and "| 1 |" in md
    (root / "shop/migrations/0003_more.sql").write_text(
        "CREATE TABLE IF NOT EXISTS more (id INTEGER);\n"
    )
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    _, board = cli_json("status", "--root", str(root))
    assert board["databases"][0]["drift"] is None, "a figure measured on another ledger is stale"


def test_snapshot_reads_through_mappings_equal_the_connection_reads(tree: TreeWriter) -> None:
    _, path = applied_shop(tree)
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        direct = snapshot_schema(connection)
        mapped = [
            rows_in_order(q, [dict(r) for r in connection.execute(q.sql)]) for q in SNAPSHOT_QUERIES
        ]
    finally:
        connection.close()
    assert snapshot_from_rows(mapped) == direct


@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
def test_real_wrangler_apply_then_drift_made_with_wrangler(tree: TreeWriter) -> None:
    root = tree(shop_tree())
    shop = root / "shop"
    applied = wrangler(shop, "d1", "migrations", "apply", "shop-db", "--local")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    code, doc = cli_json("verify", "--root", str(root))
    assert code == 0, json.dumps(doc)
    assert doc["databases"][0]["targets"][0]["applied"] == 2
    wrangler_rows(shop, "shop-db", "CREATE INDEX idx_orders_note ON orders(note)")
    wrangler_rows(shop, "shop-db", "ALTER TABLE customers ADD COLUMN nickname TEXT")
    code, found = drift(root)
    assert code == 1
    assert sorted((d["kind"], d["change"], d["name"]) for d in found) == [
        ("column", "extra", "customers.nickname"),
        ("index", "extra", "idx_orders_note"),
    ]
