"""`orchestrate new`: numbering across every source of a database, the header, the path."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

import pytest

from orchestrator.lifecycle.new import create_migration, slugify, verification_query
from orchestrator.settings import load_settings
from tests.apply.helpers import cli, cli_json
from tests.conftest import TreeWriter, toml_binding

DAY = datetime.date(2026, 11, 26)


def test_numbering_runs_across_two_packages_that_feed_one_database(monorepo: Path) -> None:
    settings = load_settings(monorepo)
    space = create_migration(settings, "space", "add user plugins", today=DAY)
    assert space.file == "packages/space/migrations/0016_add_user_plugins.sql"
    assert space.previous == "packages/analytics/migrations/0015_paper_daily_stats.sql"
    analytics = create_migration(settings, "packages/analytics", "add plugin events", today=DAY)
    assert analytics.file == "packages/analytics/migrations/0017_add_plugin_events.sql"
    assert analytics.database == "create-something-db" and analytics.previous == space.file
    io = create_migration(settings, "io", "add plugin settings", today=DAY)
    assert io.file == "packages/io/migrations/0013_add_plugin_settings.sql"  # its own database


def test_header_follows_the_strategy_template(monorepo: Path) -> None:
    created = create_migration(load_settings(monorepo), "space", "add user plugins", today=DAY)
    lines = created.path.read_text().splitlines()
    assert lines[0] == "-- Migration: 0016 - Add user plugins"
    assert lines[1] == "-- Created: 2026-11-26"
    assert lines[2].startswith("-- Purpose: ")
    assert lines[3].startswith("-- Context: create-something-db (binding DB of packages/space);")
    text = "\n".join(lines)
    assert "--\n-- Changes:\n-- - Add user plugins\n--\n-- Verification:\n" in text
    query = text.split("-- Verification:\n-- ", 1)[1].splitlines()[0]
    assert query == "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'user_plugins';"


@pytest.mark.parametrize(
    "title",
    [
        "add user plugins",
        "Add timezone to learners",
        "add user plugin indexes",
        "remove name from users",
        "drop legacy sessions",
        "create page views table",
    ],
)
def test_verification_query_is_real_sql(title: str) -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE learners (id INTEGER PRIMARY KEY, timezone TEXT)")
    connection.execute(verification_query(title).split("  --")[0])  # runs without error


def test_slugify() -> None:
    assert slugify("  Add user-plugins (v2)! ") == "add_user_plugins_v2"


def test_new_file_is_planned_as_pending_without_errors(monorepo: Path) -> None:
    code, out, err = cli("new", "lms", "add learner badges", "--root", str(monorepo))
    assert code == 0, err
    assert out.strip().endswith("packages/lms/migrations/0012_add_learner_badges.sql")
    assert "0012 is the next number of learn-db" in err
    code, plan = cli_json("plan", "--root", str(monorepo))
    assert code == 0
    learn = next(d for d in plan["databases"] if d["name"] == "learn-db")
    last = learn["migrations"][-1]
    assert (last["name"], last["status"]) == ("0012_add_learner_badges", "pending")
    assert not [p for p in plan["problems"] if p["file"] and "0012" in p["file"]]


def test_package_with_two_databases_needs_binding(monorepo: Path) -> None:
    code, _, err = cli("new", "admin", "add audit view", "--root", str(monorepo))
    assert code == 2 and "SPACE_DB (create-something-db), IO_DB (io-db)" in err
    assert "--binding" in err
    code, out, _ = cli(
        "new", "admin", "add audit view", "--binding", "IO_DB", "--root", str(monorepo)
    )
    assert code == 0 and out.strip().endswith("packages/io/migrations/0013_add_audit_view.sql")


def test_env_only_package_needs_env(monorepo: Path) -> None:
    code, _, err = cli("new", "notifications", "add digest", "--root", str(monorepo))
    assert code == 2 and "--env" in err
    code, out, _ = cli(
        "new", "notifications", "add digest", "--env", "staging", "--root", str(monorepo)
    )
    assert code == 0 and out.strip().endswith("0005_add_digest.sql")


def test_unknown_package_names_the_known_ones(tree: TreeWriter) -> None:
    root = tree({"a/wrangler.toml": toml_binding("a-db", "11111111-0000-0000-0000-000000000001")})
    code, _, err = cli("new", "b", "add x", "--root", str(root))
    assert code == 2 and "no package 'b'" in err and "a" in err
    code, out, _ = cli("new", "a", "first table", "--root", str(root))
    assert code == 0 and out.strip().endswith("a/migrations/0001_first_table.sql")
    assert (
        "first migration of this database"
        in (root / "a/migrations/0001_first_table.sql").read_text()
    )


def test_binding_without_its_own_directory_writes_into_the_owner(monorepo: Path) -> None:
    # packages/admin binds io-db and create-something-db with the default migrations_dir:
    # a file there would feed both databases.
    created = create_migration(load_settings(monorepo), "admin", "x", binding="IO_DB", today=DAY)
    assert created.file == "packages/io/migrations/0013_x.sql"
    assert not (monorepo / "packages/admin/migrations").exists()


def test_binding_of_a_database_fed_by_two_directories_is_refused(monorepo: Path) -> None:
    code, _, err = cli("new", "admin", "x", "--binding", "SPACE_DB", "--root", str(monorepo))
    assert code == 2, err
    assert "packages/admin/migrations does not exist" in err
    assert "packages/analytics/migrations, packages/space/migrations" in err
    assert not (monorepo / "packages/admin/migrations").exists()


def test_new_directory_shared_with_another_database_is_refused(tmp_path: Path) -> None:
    dash = tmp_path / "packages/dash"
    dash.mkdir(parents=True)
    (dash / "wrangler.toml").write_text(
        toml_binding("a-db", "11111111-1111-1111-1111-111111111111", "A")
        + '\n[[d1_databases]]\nbinding = "B"\ndatabase_name = "b-db"\n'
        + 'database_id = "22222222-2222-2222-2222-222222222222"\n'
    )
    code, _, err = cli("new", "dash", "x", "--binding", "A", "--root", str(tmp_path))
    assert code == 2, err
    assert "packages/dash/migrations would feed a-db and also b-db" in err
    assert not (dash / "migrations").exists()
