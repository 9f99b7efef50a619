"""migrations_pattern (wrangler >= 4.98) and wrangler's file order, on trees written here."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.cli.commands import app
from orchestrator.discovery import discover_workspace
from orchestrator.discovery.naming import canonical_of
from orchestrator.discovery.pattern import could_contain, matches, path_key
from orchestrator.settings import Settings
from tests.conftest import TreeWriter

ID = "77777777-0000-4000-8000-000000000007"
SQL = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);\n"


def jsonc(**entry: str) -> str:
    binding = {"binding": "DB", "database_name": "p-db", "database_id": ID, **entry}
    return json.dumps({"name": "p", "d1_databases": [binding]}, indent=2) + "\n"


def test_glob_rules() -> None:
    def m(pattern: str, path: str) -> bool:
        return matches(tuple(pattern.split("/")), tuple(path.split("/")))

    assert m("*/migration.sql", "0000_init/migration.sql")
    assert not m("*/migration.sql", "0000_init/Migration.sql")  # case-sensitive
    assert not m("*/migration.sql", ".hidden/migration.sql")  # no dotfiles
    assert m("**/*.sql", "a/b/c/0001_x.sql") and m("**/*.sql", "0001_x.sql")
    assert not m("**/*.sql", "a/.b/0001_x.sql")
    assert could_contain(("*", "migration.sql"), ("0000_init",))
    assert not could_contain(("*.sql",), ("sub",))


def test_wrangler_order_numbers_then_names_unnumbered_last() -> None:
    names = ["init.sql", "10_c.sql", "9_b.sql", "0002_b.sql", "0002_a.sql", "1_a.sql"]
    assert sorted(names, key=path_key) == [
        "1_a.sql",
        "0002_a.sql",
        "0002_b.sql",
        "9_b.sql",
        "10_c.sql",
        "init.sql",
    ]


def test_nested_names_keep_their_path() -> None:
    assert canonical_of("000_init/migration.sql") == "0000_init/migration"
    assert canonical_of("init/migration.sql") == "init/migration"
    assert canonical_of("sub/0009_x.sql") == "0009_x"


def test_pattern_reads_nested_files_as_paths_relative_to_the_dir(tree: TreeWriter) -> None:
    root = tree(
        {
            "p/wrangler.jsonc": jsonc(
                migrations_dir="drizzle", migrations_pattern="./drizzle/*/migration.sql"
            ),
            "p/drizzle/0000_init/migration.sql": SQL,
            "p/drizzle/0000_init/snapshot.json": "{}",
            "p/drizzle/0001_more/migration.sql": SQL,
            "p/drizzle/.wip/migration.sql": SQL,
        }
    )
    (db,) = discover_workspace(Settings(root=root)).databases
    assert [(m.wrangler_name, m.filename) for m in db.migrations] == [
        ("0000_init/migration.sql", "0000_init/migration.sql"),
        ("0001_more/migration.sql", "0001_more/migration.sql"),
    ]


def run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--root", str(root)])
    return result.exit_code, result.stdout + result.stderr


def test_bad_patterns_are_one_line_config_errors(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.jsonc": jsonc(
                migrations_dir="migrations", migrations_pattern="schema/*.sql"
            ),
            "b/wrangler.jsonc": jsonc(migrations_pattern="migrations/*.sql"),
        }
    )
    problems = discover_workspace(Settings(root=root)).problems
    found = sorted((p.file, p.line, p.code) for p in problems if p.is_error)
    assert found == [
        ("a/wrangler.jsonc", 9, "config.migrations-pattern"),
        ("b/wrangler.jsonc", 8, "config.migrations-pattern"),
    ]
    code, out = run(root, "apply", "--all")
    assert code == 2 and "Traceback" not in out and "a/wrangler.jsonc:9" in out, out
    assert not list(root.rglob("*.sqlite"))  # nothing half-applied


def test_empty_pattern_and_nested_layout_without_pattern_warn(tree: TreeWriter) -> None:
    root = tree(
        {
            "a/wrangler.jsonc": jsonc(
                migrations_dir="migrations", migrations_pattern="migrations/*/up.sql"
            ),
            "a/migrations/0001_x.sql": SQL,
            "b/wrangler.jsonc": jsonc(migrations_dir="drizzle")
            .replace("p-db", "b-db")
            .replace(ID, ID[:-1] + "8"),
            "b/drizzle/0000_init/migration.sql": SQL,
        }
    )
    problems = discover_workspace(Settings(root=root)).problems
    found = {(p.code, p.file, p.severity.value) for p in problems}
    assert ("source.pattern-empty", "a/wrangler.jsonc", "warning") in found
    assert ("source.nested", "b/wrangler.jsonc", "warning") in found
    nested = next(p for p in problems if p.code == "source.nested")
    assert "b/drizzle/0000_init/migration.sql" in nested.message and nested.line is not None
