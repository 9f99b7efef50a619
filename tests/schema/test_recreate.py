"""`orchestrate recreate`: the D1-safe table recreation keeps every child row.

SQLite tests run the generated migration as D1 runs a migration: one transaction,
foreign keys on. The wrangler test is the proof on real local D1, with the strategy
document's Pattern 2 on the same data as the contrast.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from orchestrator.checks.service import check_workspace
from orchestrator.errors import UsageError
from orchestrator.schema.files import write_new_file
from orchestrator.schema.recreate import recreate_migration
from orchestrator.settings import load_settings
from tests.apply.helpers import cli
from tests.conftest import FIXTURE_MONOREPO, WRANGLER, TreeWriter, toml_binding, wrangler_rows
from tests.conftest import run_wrangler as wrangler
from tests.schema.helpers import DB_ID

FAMILY = {
    "0001_parent.sql": """
        CREATE TABLE IF NOT EXISTS parent (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          kind TEXT NOT NULL DEFAULT 'a' CHECK (kind IN ('a', 'b'))
        );
        CREATE INDEX IF NOT EXISTS idx_parent_kind ON parent(kind);
        """,
    "0002_children.sql": """
        CREATE TABLE IF NOT EXISTS cascade_child (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          parent_id TEXT REFERENCES parent(id) ON DELETE CASCADE,
          note TEXT
        );
        CREATE TABLE IF NOT EXISTS grandchild (
          child_id INTEGER NOT NULL REFERENCES cascade_child(id) ON DELETE CASCADE,
          seq INTEGER NOT NULL,
          PRIMARY KEY (child_id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS null_child (
          label TEXT,
          parent_id TEXT REFERENCES parent(id) ON DELETE SET NULL
        );
        CREATE TABLE IF NOT EXISTS default_child (
          id INTEGER PRIMARY KEY,
          parent_id TEXT DEFAULT 'p0' REFERENCES parent(id) ON DELETE SET DEFAULT
        );
        CREATE TABLE IF NOT EXISTS plain_child (
          id INTEGER PRIMARY KEY,
          parent_id TEXT NOT NULL REFERENCES parent(id)
        );
        CREATE TABLE IF NOT EXISTS restrict_child (
          id INTEGER PRIMARY KEY,
          parent_id TEXT NOT NULL REFERENCES parent(id) ON DELETE RESTRICT
        );
        CREATE TABLE IF NOT EXISTS audit (what TEXT);
        CREATE TRIGGER IF NOT EXISTS cascade_child_deleted AFTER DELETE ON cascade_child
        BEGIN INSERT INTO audit (what) VALUES ('deleted ' || old.id); END;
        CREATE VIEW IF NOT EXISTS parent_names AS SELECT id, name FROM parent;
        """,
}
DATA = """
    INSERT INTO parent (id, name, kind) VALUES ('p0', 'zero', 'a'), ('p1', 'one', 'b'), ('p2', 'two', 'a');
    INSERT INTO cascade_child (parent_id, note) VALUES ('p1', 'x'), ('p2', 'y'), (NULL, 'orphan');
    INSERT INTO grandchild VALUES (1, 1), (1, 2), (2, 1);
    INSERT INTO null_child VALUES ('n1', 'p1'), ('n2', NULL), ('n3', 'p2');
    INSERT INTO default_child VALUES (1, 'p1'), (2, 'p2');
    INSERT INTO plain_child VALUES (1, 'p1');
    INSERT INTO restrict_child VALUES (1, 'p2');
    DELETE FROM cascade_child WHERE note = 'orphan';
"""
CONTENTS = [
    "SELECT * FROM parent ORDER BY id",
    "SELECT rowid, * FROM cascade_child ORDER BY id",
    "SELECT * FROM grandchild ORDER BY child_id, seq",
    "SELECT rowid, * FROM null_child ORDER BY rowid",
    "SELECT * FROM default_child ORDER BY id",
    "SELECT * FROM plain_child",
    "SELECT * FROM restrict_child",
    "SELECT * FROM audit",
    "SELECT * FROM parent_names ORDER BY id",
    "SELECT seq FROM sqlite_sequence WHERE name = 'cascade_child'",
]
NEW_PARENT = (
    "CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "kind TEXT NOT NULL DEFAULT 'a' CHECK (kind IN ('a', 'b', 'c')), extra TEXT DEFAULT 'new')"
)


def family(tree: TreeWriter) -> Path:
    files = {"fam/wrangler.toml": toml_binding("fam-db", DB_ID)}
    files |= {f"fam/migrations/{name}": text for name, text in FAMILY.items()}
    return tree(files)


def loaded(root: Path) -> sqlite3.Connection:
    """The family migrations and data in memory, foreign keys on as on D1."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    for path in sorted((root / "fam/migrations").glob("*.sql")):
        conn.executescript(path.read_text())
    conn.executescript(DATA)
    return conn


def run_as_d1(conn: sqlite3.Connection, sql: str) -> None:
    """One migration as D1 runs it: a single transaction, foreign keys enforced."""
    conn.executescript(f"BEGIN;\n{sql}\nCOMMIT;")


def contents(conn: sqlite3.Connection) -> list[list[tuple[object, ...]]]:
    return [conn.execute(query).fetchall() for query in CONTENTS]


def test_every_child_row_and_key_survives(tree: TreeWriter) -> None:
    root = family(tree)
    generated = recreate_migration(load_settings(root), "fam-db", "parent", None)
    conn = loaded(root)
    before = contents(conn)
    run_as_d1(conn, generated.text)
    assert contents(conn) == before
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert not any(n.endswith("_backup") or n.endswith("_new") for n in names)
    assert {"idx_parent_kind", "cascade_child_deleted", "parent_names"} <= names


PATTERN_TWO = """
    PRAGMA foreign_keys=OFF;
    CREATE TABLE parent_new (id TEXT PRIMARY KEY, name TEXT NOT NULL,
      kind TEXT NOT NULL DEFAULT 'a' CHECK (kind IN ('a', 'b', 'c')));
    INSERT INTO parent_new SELECT * FROM parent;
    DROP VIEW parent_names;
    DROP TABLE parent;
    ALTER TABLE parent_new RENAME TO parent;
    PRAGMA foreign_keys=ON;
"""


def test_self_reference_and_cascade_through_it(tree: TreeWriter) -> None:
    root = tree(
        {
            "t/wrangler.toml": toml_binding("tree-db", DB_ID),
            "t/migrations/0001_nodes.sql": """
                CREATE TABLE IF NOT EXISTS node (
                  id INTEGER PRIMARY KEY,
                  up INTEGER REFERENCES node(id) ON DELETE CASCADE,
                  label TEXT
                );
                CREATE TABLE IF NOT EXISTS leaf (
                  node_id INTEGER REFERENCES node(id) ON DELETE CASCADE, v TEXT
                );
                """,
        }
    )
    sql = (
        "CREATE TABLE node (id INTEGER PRIMARY KEY, up INTEGER REFERENCES node(id) "
        "ON DELETE CASCADE, label TEXT NOT NULL DEFAULT '')"
    )
    generated = recreate_migration(load_settings(root), "tree-db", "node", sql)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript((root / "t/migrations/0001_nodes.sql").read_text())
    conn.executescript(
        "INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 2, 'b');"
        "INSERT INTO leaf VALUES (3, 'x'), (2, 'y');"
    )
    before = [
        conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall()
        for t in ("node", "leaf")
    ]
    run_as_d1(conn, generated.text)
    after = [
        conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall()
        for t in ("node", "leaf")
    ]
    assert after == before


def test_pattern_two_on_the_same_data_fails_or_loses_rows(tree: TreeWriter) -> None:
    conn = loaded(family(tree))
    # NO ACTION / RESTRICT / SET DEFAULT children: the drop leaves keys without a parent
    # row and the migration fails.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        run_as_d1(conn, PATTERN_TWO)
    conn.execute("ROLLBACK")
    # Without them it runs, and the CASCADE and SET NULL children pay.
    conn.executescript(
        "DELETE FROM plain_child; DELETE FROM restrict_child; DELETE FROM default_child;"
    )
    run_as_d1(conn, PATTERN_TWO)
    assert conn.execute("SELECT COUNT(*) FROM cascade_child").fetchone() == (0,)
    assert conn.execute("SELECT COUNT(*) FROM grandchild").fetchone() == (0,)
    assert conn.execute("SELECT COUNT(parent_id) FROM null_child").fetchone() == (0,)
    assert conn.execute("SELECT COUNT(*) FROM audit").fetchone() == (1 + 2,), "the trigger fired"


def test_new_definition_copies_shared_columns_and_says_what_changes(tree: TreeWriter) -> None:
    root = family(tree)
    generated = recreate_migration(load_settings(root), "fam-db", "parent", NEW_PARENT)
    assert generated.file == "fam/migrations/0003_recreate_parent.sql"
    assert "Columns added, filled by their DEFAULT (or NULL): extra" in generated.text
    assert "EDIT HERE" not in generated.text
    conn = loaded(root)
    before = contents(conn)[1:8]
    run_as_d1(conn, generated.text)
    assert contents(conn)[1:8] == before
    assert conn.execute("SELECT id, extra FROM parent ORDER BY id").fetchall() == [
        ("p0", "new"),
        ("p1", "new"),
        ("p2", "new"),
    ]
    conn.execute("INSERT INTO parent (id, name, kind) VALUES ('p3', 'three', 'c')")


def test_dropped_column_is_announced(tree: TreeWriter) -> None:
    root = family(tree)
    sql = "CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL)"
    generated = recreate_migration(load_settings(root), "fam-db", "parent", sql)
    assert "Columns dropped, their data is lost: kind" in generated.text
    assert "Not recreated (their columns are gone): idx_parent_kind" in generated.text


def test_generated_migration_passes_check(tree: TreeWriter) -> None:
    root = family(tree)
    code, _, err = cli(
        "recreate", "parent", "--db", "fam-db", "--root", str(root), "--sql", NEW_PARENT, "--write"
    )
    assert code == 0 and "wrote fam/migrations/0003_recreate_parent.sql" in err
    report = check_workspace(load_settings(root))
    mine = [f for f in report.findings if f.file and f.file.endswith("0003_recreate_parent.sql")]
    assert mine == [], mine


def test_fixture_templates_recreation_passes_check(monorepo: Path) -> None:
    code, _, _ = cli(
        "recreate", "templates", "--db", "templates-platform-db", "--root", str(monorepo), "--write"
    )
    assert code == 0
    report = check_workspace(load_settings(monorepo))
    assert [f for f in report.findings if f.file and "0013_recreate_templates" in f.file] == []


def test_print_by_default_and_refuse_to_overwrite(tree: TreeWriter) -> None:
    root = family(tree)
    code, out, _ = cli("recreate", "parent", "--db", "fam-db", "--root", str(root))
    assert code == 0 and out.startswith("-- Migration: 0003 - Recreate parent\n")
    assert not (root / "fam/migrations/0003_recreate_parent.sql").exists()
    for number in ("0003", "0004"):  # each run takes the next number
        code, _, err = cli("recreate", "parent", "--db", "fam-db", "--root", str(root), "--write")
        assert code == 0 and f"wrote fam/migrations/{number}_recreate_parent.sql" in err
    with pytest.raises(UsageError, match="already exists"):
        write_new_file(root, "fam/migrations/0004_recreate_parent.sql", "-- mine\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["parnet"], "no table called 'parnet'"),
        (["parent", "--sql", "DROP TABLE parent"], "must be one CREATE TABLE"),
        (["parent", "--sql", "CREATE TABLE other (id)"], "creates 'other', not 'parent'"),
        (
            [
                "parent",
                "--sql",
                "CREATE TABLE parent (id TEXT PRIMARY KEY, kind TEXT AS (nope))",
            ],
            "SQLite refuses the new definition",
        ),
    ],
)
def test_refusals(tree: TreeWriter, args: list[str], message: str) -> None:
    root = family(tree)
    code, _, err = cli("recreate", *args, "--db", "fam-db", "--root", str(root))
    assert code == 2 and message in err, err


def test_new_not_null_column_without_default_is_a_warning(tree: TreeWriter) -> None:
    root = family(tree)
    sql = (
        "CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, x TEXT NOT NULL)"
    )
    code, out, err = cli("recreate", "parent", "--db", "fam-db", "--root", str(root), "--sql", sql)
    assert code == 0 and out.startswith("-- Migration: 0003")
    assert "note: with rows in the tables it fails" in err
    assert "NOT NULL constraint failed: parent.x" in err


def test_edit_opens_the_current_definition(
    tree: TreeWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = family(tree)
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace(\"'b')\", \"'b', 'c')\"))\n"
    )
    monkeypatch.setenv("VISUAL", f"python3 {editor}")
    code, out, err = cli("recreate", "parent", "--db", "fam-db", "--root", str(root), "--edit")
    assert code == 0, err
    assert "CHECK (kind IN ('a', 'b', 'c'))" in out


TEMPLATES = FIXTURE_MONOREPO / "packages/templates-platform/migrations"
SET_NULL_CHILD = """
    -- A SET NULL child of templates, a view on it, and an audit trigger on a cascading child.
    CREATE TABLE IF NOT EXISTS featured_slots (
      id INTEGER PRIMARY KEY,
      template_id TEXT REFERENCES templates(id) ON DELETE SET NULL
    );
    CREATE TABLE IF NOT EXISTS version_audit (what TEXT);
    CREATE TRIGGER IF NOT EXISTS template_versions_deleted AFTER DELETE ON template_versions
    BEGIN INSERT INTO version_audit (what) VALUES (old.version); END;
    CREATE VIEW IF NOT EXISTS template_catalogue AS SELECT slug, tier FROM templates;
    """
DATA_FILE = """
INSERT INTO creators (id, handle, display_name, email) VALUES ('c1', 'ada', 'Ada', 'ada@example.com');
INSERT INTO customers (id, email) VALUES ('u1', 'u1@example.com'), ('u2', 'u2@example.com');
INSERT INTO templates (id, creator_id, slug, name, tier, price_cents) VALUES
  ('t1', 'c1', 'community-blog', 'Community Blog', 'premium', 1900);
INSERT INTO template_versions (template_id, version) VALUES ('t1', '1.0.0'), ('t1', '1.1.0');
INSERT INTO template_purchases (id, template_id, customer_id, amount_cents) VALUES
  ('pu1', 't1', 'u1', 1900), ('pu2', 'b3f1c2a0-5d7e-4c1b-9a8f-0e6d4c3b2a10', 'u2', 0);
INSERT INTO license_keys (purchase_id, license_key) VALUES ('pu1', 'KEY-1'), ('pu2', 'KEY-2');
INSERT INTO template_reviews (template_id, customer_id, rating) VALUES ('t1', 'u1', 5);
INSERT INTO featured_slots (id, template_id) VALUES (1, 't1'), (2, 'c4a2d3b1-6e8f-4d2c-8b9a-1f7e5d4c3b21');
"""
COUNTS = (
    "SELECT (SELECT COUNT(*) FROM templates) AS templates,"
    " (SELECT COUNT(*) FROM template_versions) AS versions,"
    " (SELECT COUNT(*) FROM template_purchases) AS purchases,"
    " (SELECT COUNT(*) FROM license_keys) AS license_keys,"
    " (SELECT COUNT(*) FROM template_reviews) AS reviews,"
    " (SELECT COUNT(template_id) FROM featured_slots) AS featured,"
    " (SELECT COUNT(*) FROM version_audit) AS audit"
)


def templates_workspace(tree: TreeWriter) -> Path:
    """The fixture's templates-platform database without 0009, plus a SET NULL child."""
    files = {"tp/wrangler.toml": toml_binding("templates-platform-db", DB_ID)}
    for path in sorted(TEMPLATES.glob("*.sql")):
        if not path.name.startswith(("0009", "0012")):
            files[f"tp/migrations/{path.name}"] = path.read_text()
    files["tp/migrations/0012_featured_slots.sql"] = SET_NULL_CHILD
    files["tp/data.sql"] = DATA_FILE
    return tree(files)


@pytest.mark.wrangler
@pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)")
def test_real_wrangler_keeps_children_where_pattern_two_loses_them(tree: TreeWriter) -> None:
    root = templates_workspace(tree)
    package = root / "tp"
    db = "templates-platform-db"
    assert wrangler(package, "d1", "migrations", "apply", db, "--local").returncode == 0
    loaded_data = wrangler(package, "d1", "execute", db, "--local", "--file", "data.sql")
    assert loaded_data.returncode == 0, loaded_data.stdout + loaded_data.stderr
    before = wrangler_rows(package, db, COUNTS)
    assert before == [
        {
            "templates": 5,
            "versions": 6,
            "purchases": 2,
            "license_keys": 2,
            "reviews": 1,
            "featured": 2,
            "audit": 0,
        }
    ]
    contrast = root.parent / "contrast"
    shutil.copytree(package, contrast)

    new_definition = (TEMPLATES / "0009_fix_tier_constraint.sql").read_text()
    start = new_definition.index("CREATE TABLE templates_new")
    sql = new_definition[start : new_definition.index(";", start)].replace(
        "templates_new", "templates"
    )
    (root / "new_templates.sql").write_text(sql)
    code, _, err = cli(
        "recreate",
        "templates",
        "--db",
        db,
        "--root",
        str(root),
        "--sql-file",
        str(root / "new_templates.sql"),
        "--write",
    )
    assert code == 0, err
    generated = package / "migrations/0013_recreate_templates.sql"
    applied = wrangler(package, "d1", "execute", db, "--local", "--file", str(generated))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert wrangler_rows(package, db, COUNTS) == before
    wrangler_rows(
        package,
        db,
        "INSERT INTO templates (id, slug, name, tier) VALUES ('t2', 'pro-kit', 'Pro Kit', 'pro')",
    )
    assert wrangler_rows(package, db, "SELECT COUNT(*) AS n FROM template_catalogue") == [{"n": 6}]

    # The contrast, on the same data: the strategy document's Pattern 2 (fixture 0009).
    # First it fails outright, because a view names the table; nothing changes.
    pattern_two = [
        "d1",
        "execute",
        db,
        "--local",
        "--file",
        str(TEMPLATES / "0009_fix_tier_constraint.sql"),
    ]
    refused = wrangler(contrast, *pattern_two)
    assert refused.returncode == 1 and "template_catalogue" in refused.stdout + refused.stderr
    assert wrangler_rows(contrast, db, COUNTS) == before
    # Without the view it runs, and D1 deletes every child row (PRAGMA foreign_keys=OFF does nothing).
    wrangler_rows(contrast, db, "DROP VIEW template_catalogue")
    assert wrangler(contrast, *pattern_two).returncode == 0
    assert wrangler_rows(contrast, db, COUNTS) == [
        {
            "templates": 5,
            "versions": 0,
            "purchases": 0,
            "license_keys": 0,
            "reviews": 0,
            "featured": 0,
            "audit": 6,
        }
    ]


def test_a_missing_sql_file_is_a_usage_error(monorepo: Path) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli.commands import app

    result = CliRunner().invoke(
        app,
        [
            "recreate",
            "templates",
            "--db",
            "templates-platform-db",
            "--root",
            str(monorepo),
            "--sql-file",
            str(monorepo / "nope.sql"),
        ],
    )
    assert (
        result.exit_code == 2
        and "cannot read --sql-file" in result.stderr
        and "internal error" not in result.stderr
    )
