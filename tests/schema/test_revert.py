"""`orchestrate revert`: migration + revert on the shadow gives the schema before back.

Every fixture migration round-trips (there are no exceptions in the fixtures: see
``EXCEPTIONS``); synthetic migrations cover what the fixtures do not (renames, a
dropped column, a changed trigger, a virtual table).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.checks.parsed import parse_migration
from orchestrator.checks.schema import SchemaSnapshot, snapshot_schema
from orchestrator.checks.service import check_workspace
from orchestrator.checks.shadow import run_script
from orchestrator.model import Migration
from orchestrator.planning import plan_database
from orchestrator.schema.compare import compare_schemas
from orchestrator.schema.ddl import render_blocks
from orchestrator.schema.revert import plan_revert_at
from orchestrator.schema.sqlnorm import normalize_sql
from orchestrator.schema.target import open_replayed
from orchestrator.services import load_workspace
from orchestrator.settings import load_settings
from tests.apply.helpers import cli
from tests.conftest import FIXTURE_MONOREPO, TreeWriter, toml_binding
from tests.schema.helpers import DB_ID

# Fixture migrations whose revert does not give the schema before back, and why.
# None today: every fixture migration (67, in every env) round-trips.
EXCEPTIONS: dict[str, str] = {}


def fixture_orders() -> list[tuple[str, tuple[Migration, ...], int]]:
    settings = load_settings(FIXTURE_MONOREPO)
    cases = []
    for env in (None, "production", "staging"):
        for db in load_workspace(settings, env).databases:
            order = tuple(s.migration for s in plan_database(db, None).steps)
            cases += [(f"{env or '-'}:{m.file}", order, i) for i, m in enumerate(order)]
    return cases


def differences(before: SchemaSnapshot, after: SchemaSnapshot) -> list[str]:
    found = [d.message for d in compare_schemas(before, after)]
    for table in before.tables:
        now = after.table(table.name)
        if now is not None and normalize_sql(now.sql) != normalize_sql(table.sql):
            found.append(f"CREATE text of {table.name}: {now.sql}")
    return found


def round_trip(order: tuple[Migration, ...], position: int) -> list[str]:
    """Replay up to the migration, run it and its revert, compare with the schema before."""
    plan = plan_revert_at(order, position)
    conn = open_replayed(order[:position])
    try:
        before = snapshot_schema(conn)
        migration = order[position]
        assert run_script(conn, parse_migration(migration.file, migration.sql)) is None
        failure = run_script(conn, parse_migration("revert.sql", render_blocks(plan.blocks)))
        assert failure is None, failure
        return differences(before, snapshot_schema(conn))
    finally:
        conn.close()


CASES = fixture_orders()


@pytest.mark.parametrize(("name", "order", "position"), CASES, ids=[c[0] for c in CASES])
def test_every_fixture_migration_round_trips(
    name: str, order: tuple[Migration, ...], position: int
) -> None:
    if name in EXCEPTIONS:
        pytest.xfail(EXCEPTIONS[name])
    assert round_trip(order, position) == []


def test_the_fixture_is_covered() -> None:
    assert len({c[0] for c in CASES}) >= 67


SYNTHETIC = {
    "0001_base.sql": """
        CREATE TABLE IF NOT EXISTS authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, bio TEXT);
        CREATE TABLE IF NOT EXISTS posts (
          id INTEGER PRIMARY KEY,
          author_id INTEGER REFERENCES authors(id) ON DELETE CASCADE,
          title TEXT NOT NULL,
          body TEXT
        );
        CREATE INDEX IF NOT EXISTS idx_posts_author_id ON posts(author_id);
        CREATE TABLE IF NOT EXISTS log (what TEXT);
        CREATE TRIGGER IF NOT EXISTS posts_logged AFTER INSERT ON posts
        BEGIN INSERT INTO log VALUES ('post ' || new.id); END;
        CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(title, body);
        """,
}
STEPS = {
    "rename_table": "ALTER TABLE log RENAME TO audit_log;",
    "rename_column": "ALTER TABLE posts RENAME COLUMN body TO content;",
    "drop_column": "ALTER TABLE authors DROP COLUMN bio;",
    "add_indexed_column": (
        "ALTER TABLE posts ADD COLUMN slug TEXT;\nCREATE UNIQUE INDEX IF NOT EXISTS idx_posts_slug ON posts(slug);"
    ),
    "add_foreign_key_column": "ALTER TABLE posts ADD COLUMN editor_id INTEGER REFERENCES authors(id);",
    "change_trigger": (
        "DROP TRIGGER IF EXISTS posts_logged;\nCREATE TRIGGER IF NOT EXISTS posts_logged AFTER INSERT ON posts\n"
        "BEGIN INSERT INTO log VALUES ('new post'); END;"
    ),
    "view_and_index": (
        "CREATE VIEW IF NOT EXISTS titles AS SELECT title FROM posts;\nDROP INDEX IF EXISTS idx_posts_author_id;"
    ),
    "replace_virtual": "DROP TABLE IF EXISTS posts_fts;\nCREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(title);",
    "recreate_parent": (
        "PRAGMA defer_foreign_keys = on;\nCREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
        "CHECK (length(name) > 0), bio TEXT);\nINSERT INTO authors_new (id, name, bio) SELECT id, name, bio FROM authors;\n"
        "DROP TABLE authors;\nALTER TABLE authors_new RENAME TO authors;"
    ),
}


def synthetic_order(step: str) -> tuple[Migration, ...]:
    files = {"0001_base.sql": SYNTHETIC["0001_base.sql"], f"0002_{step}.sql": STEPS[step]}
    migrations = []
    for number, (name, text) in enumerate(files.items(), 1):
        migrations.append(Migration(number, name[5:-4], f"m/{name}", "m", ".", "sha256:x", text))
    return tuple(migrations)


@pytest.mark.parametrize("step", sorted(STEPS))
def test_synthetic_changes_round_trip(step: str) -> None:
    assert round_trip(synthetic_order(step), 1) == []


def test_renames_are_undone_as_renames_so_no_data_is_lost() -> None:
    plan = plan_revert_at(synthetic_order("rename_column"), 1)
    text = render_blocks(plan.blocks)
    assert 'ALTER TABLE "posts" RENAME COLUMN "content" TO "body"' in text
    assert "DROP TABLE" not in text and plan.lost == ()


def test_revert_of_each_databases_last_migration_passes_check(monorepo: Path) -> None:
    settings = load_settings(monorepo)
    written = []
    for db in load_workspace(settings).databases:
        last = plan_database(db, None).steps[-1].migration
        code, _, err = cli("revert", last.file, "--db", db.name, "--root", str(monorepo), "--write")
        assert code == 0, err
        written.append(err.split("wrote ", 1)[1].split("\n", 1)[0])
    report = check_workspace(load_settings(monorepo))
    errors = [f for f in report.findings if f.file in written and f.is_error]
    assert len(written) == 6 and errors == []


def test_write_names_the_next_number_and_states_lost_data(monorepo: Path) -> None:
    code, _, err = cli("revert", "0007_add_template_featured", "--root", str(monorepo), "--write")
    assert code == 0, err
    path = monorepo / "packages/templates-platform/migrations/0013_revert_add_template_featured.sql"
    text = path.read_text()
    assert text.startswith("-- Migration: 0013 - Revert 0007_add_template_featured\n")
    assert "-- - Data lost for good: the values of templates.featured" in text
    assert 'ALTER TABLE "templates" DROP COLUMN "featured";' in text
    assert "5 come after it" in err


def test_a_middle_migration_backs_up_the_children_later_migrations_add(monorepo: Path) -> None:
    # 0010 and 0011 add template_reviews and license_keys after 0009; the revert runs
    # after them, so its recreation of templates must keep their rows too.
    code, out, err = cli("revert", "0009_fix_tier_constraint", "--root", str(monorepo))
    assert code == 0, err
    assert out.startswith("-- Migration: 0013 - Revert 0009_fix_tier_constraint")
    assert 'CREATE TABLE IF NOT EXISTS "template_reviews_backup"' in out
    assert 'CREATE TABLE IF NOT EXISTS "license_keys_backup"' in out
    assert "`orchestrate check` reports" not in err and "revert those first" in err


def test_write_refuses_a_revert_check_would_fail_unless_forced(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", DB_ID),
            "a/migrations/0001_p.sql": "CREATE TABLE IF NOT EXISTS p (id INTEGER PRIMARY KEY);\n",
            "a/migrations/0002_c.sql": "CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, "
            "p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);\n",
        }
    )
    code, _, err = cli("revert", "0001_p", "--write", "--root", str(root))
    assert code == 1 and "reports D002" in err and "pass --force" in err
    assert not (root / "a/migrations/0003_revert_p.sql").exists()
    code, _, err = cli("revert", "0001_p", "--write", "--force", "--root", str(root))
    assert code == 1 and "wrote a/migrations/0003_revert_p.sql" in err
    assert (root / "a/migrations/0003_revert_p.sql").exists()


def test_row_changes_are_listed_as_not_undone(monorepo: Path) -> None:
    code, out, _ = cli("revert", "0006_seed_official_templates", "--root", str(monorepo))
    assert code == 0
    assert "-- - Not undone (row changes): rows it inserted into templates (line 11)" in out
    assert "-- Nothing to undo in the schema" in out


def test_a_file_that_feeds_two_databases_needs_db(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.toml": toml_binding("a-db", DB_ID)
            + '\n[[d1_databases]]\nbinding = "B"\ndatabase_name = "b-db"\n'
            'database_id = "00000000-0000-0000-0000-0000000000bb"\n',
            "a/migrations/0001_t.sql": "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);\n",
        }
    )
    code, _, err = cli("revert", "0001_t", "--root", str(root))
    assert code == 2 and "feeds several databases: a-db, b-db" in err
    code, out, _ = cli("revert", "a/migrations/0001_t.sql", "--db", "b-db", "--root", str(root))
    assert code == 0 and 'DROP TABLE IF EXISTS "t"' in out
    code, _, err = cli("revert", "0042_nope", "--root", str(root))
    assert code == 2 and "no migration called '0042_nope'" in err


RESTORED_FROM_BACKUP = """
    CREATE TABLE IF NOT EXISTS posts_backup AS SELECT * FROM posts;
    CREATE TABLE IF NOT EXISTS authors_backup AS SELECT rowid AS orchestrate_rowid, * FROM authors;
    DELETE FROM posts;
    INSERT OR IGNORE INTO posts (id, author_id, title, body) SELECT id, author_id, title, body FROM posts_backup;
    UPDATE authors SET bio = (SELECT b.bio FROM authors_backup AS b WHERE b.id = authors.id);
    UPDATE authors SET name = (SELECT upper(b.name) FROM authors_backup AS b WHERE b.id = authors.id);
    INSERT INTO posts (title) SELECT upper(title) FROM posts_backup;
    CREATE TABLE IF NOT EXISTS scratch AS SELECT name FROM authors;
    INSERT INTO log (what) SELECT name FROM scratch;
    DROP TABLE IF EXISTS posts_backup;
    DROP TABLE IF EXISTS authors_backup;
    DROP TABLE IF EXISTS scratch;
"""


def test_rows_put_back_from_their_own_backup_are_no_row_change() -> None:
    # What `orchestrate recreate` writes: back up, then restore the rows and keys the DROP
    # took, column for column. A revert has nothing of that to undo; a move into another
    # table, or a value computed from the backup, it still names.
    files = {"0001_base.sql": SYNTHETIC["0001_base.sql"], "0002_x.sql": RESTORED_FROM_BACKUP}
    order = tuple(
        Migration(n, name[5:-4], f"m/{name}", "m", ".", "sha256:x", text)
        for n, (name, text) in enumerate(files.items(), 1)
    )
    notes = plan_revert_at(order, 1).not_undone
    assert [n.split(" (line")[0] for n in notes] == [
        "rows it deleted from posts",
        "its updates to authors",  # upper(name): computed, not put back
        "rows it inserted into posts",  # upper(title), likewise
        "rows it inserted into log",
    ]


def test_revert_of_a_recreation_that_kept_the_definition_undoes_nothing(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.toml": toml_binding("fam-db", DB_ID),
            "p/migrations/0001_base.sql": SYNTHETIC["0001_base.sql"],
        }
    )
    code, _, err = cli("recreate", "authors", "--db", "fam-db", "--write", "--root", str(root))
    assert code == 0, err
    code, out, _ = cli("revert", "0002_recreate_authors", "--db", "fam-db", "--root", str(root))
    assert code == 0
    assert "Not undone (row changes)" not in out
    assert "-- Nothing to undo: after this migration the schema is what it was before it." in out
