"""`orchestrate types` and `verify --types`: TypeScript row interfaces from the schema."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from orchestrator.checks.schema import snapshot_schema
from orchestrator.schema.types import column_type, interface_name
from tests.apply.helpers import cli
from tests.conftest import FIXTURE_MONOREPO, TreeWriter
from tests.schema.helpers import shop_tree

SNAPSHOT = Path(__file__).parent / "snapshots" / "templates-platform-db.ts"


def test_fixture_types_match_the_snapshot() -> None:
    code, out, _ = cli("types", "--db", "templates-platform-db", "--root", str(FIXTURE_MONOREPO))
    assert code == 0
    assert out == SNAPSHOT.read_text(), "regenerate tests/schema/snapshots with `orchestrate types`"


COLUMNS = """
CREATE TABLE t (
  id INTEGER PRIMARY KEY,
  big BIGINT NOT NULL,
  name VARCHAR(40),
  note CLOB NOT NULL,
  data BLOB,
  anything,
  price DOUBLE PRECISION,
  ratio FLOAT NOT NULL,
  happened DATETIME,
  amount DECIMAL(10, 2) NOT NULL,
  flag BOOLEAN,
  upper_name TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL,
  "weird name" TEXT NOT NULL
);
CREATE TABLE k (code TEXT PRIMARY KEY, label TEXT) WITHOUT ROWID;
CREATE TABLE p (code TEXT PRIMARY KEY);
CREATE VIRTUAL TABLE f USING fts5(title, body);
"""


def test_affinity_and_nullability() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript(COLUMNS)
    schema = snapshot_schema(conn)
    table = schema.table("t")
    assert table is not None
    types = {c.name: column_type(table, c) for c in table.columns}
    assert types == {
        "id": "number",
        "big": "number",
        "name": "string | null",
        "note": "string",
        "data": "number[] | null",
        "anything": "unknown",
        "price": "number | null",
        "ratio": "number",
        "happened": "number | string | null",
        "amount": "number | string",
        "flag": "number | string | null",
        "upper_name": "string | null",
        "weird name": "string",
    }
    for name, column, expected in [("k", "code", "string"), ("p", "code", "string | null")]:
        found = schema.table(name)
        assert found is not None
        assert column_type(found, next(c for c in found.columns if c.name == column)) == expected
    fts = schema.table("f")
    assert fts is not None and {column_type(fts, c) for c in fts.columns if c.hidden == 0} == {
        "string | null"
    }


@pytest.mark.parametrize(
    ("table", "expected"),
    [("template_versions", "TemplateVersionsRow"), ("2fa codes", "T2faCodesRow"), ("x", "XRow")],
)
def test_interface_names(table: str, expected: str) -> None:
    assert interface_name(table) == expected


def test_verify_types_passes_then_fails_after_a_schema_change(tree: TreeWriter) -> None:
    root = tree(shop_tree())
    out = root / "shop/src/db-types.ts"
    code, _, err = cli("types", "--db", "shop-db", "--root", str(root), "--out", str(out))
    assert code == 2 and "is not a directory" in err  # --out never invents directories
    out.parent.mkdir()
    code, _, err = cli("types", "--db", "shop-db", "--root", str(root), "--out", str(out))
    assert code == 0 and "wrote" in err
    assert "export interface OrdersRow {" in out.read_text()
    assert out.stat().st_mode & 0o777 == 0o644  # committed files are readable, not mkstemp's 0600
    code, text, _ = cli("verify", "--types", str(out), "--root", str(root))
    assert code == 0 and "matches the migrations of shop-db" in text
    (root / "shop/migrations/0003_add_phone.sql").write_text(
        "ALTER TABLE customers ADD COLUMN phone TEXT;\n"
    )
    code, text, _ = cli("verify", "--types", str(out), "--root", str(root))
    assert code == 1
    assert "+  phone: string | null; // TEXT" in text
    assert "orchestrate types --db shop-db --out" in text
    code, doc_text, _ = cli("verify", "--types", str(out), "--root", str(root), "--format", "json")
    doc = json.loads(doc_text)
    assert code == 1 and doc["types"]["ok"] is False and doc["types"]["database"] == "shop-db"


def test_verify_types_needs_a_database_name(tree: TreeWriter) -> None:
    root = tree(shop_tree())
    stray = root / "stray.ts"
    stray.write_text("export interface X {}\n")
    code, _, err = cli("verify", "--types", str(stray), "--root", str(root))
    assert code == 2 and "names no database" in err
    code, _, _ = cli("verify", "--types", str(stray), "--db", "shop-db", "--root", str(root))
    assert code == 1
