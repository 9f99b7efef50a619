"""`orchestrate adopt`: databases migrated by hand to several points, with and without drift."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator.checks.schema import snapshot_schema
from orchestrator.lifecycle.adopt import replay_prefixes
from orchestrator.lifecycle.targets import find_database
from orchestrator.schema.compare import rebuild_schema, schema_facts
from orchestrator.settings import load_settings
from tests.apply.helpers import cli, cli_json, ledger, query, state_path
from tests.conftest import needs_wrangler
from tests.conftest import run_wrangler as wrangler
from tests.lifecycle.helpers import apply_by_hand, migration_files


def facts_of(path: Path) -> frozenset[object]:
    rows = query(path, "SELECT type, name, sql FROM sqlite_master")
    ignore = ("_migrations", "_migrations_lock", "_migrations_history", "d1_migrations")
    return frozenset(schema_facts(rebuild_schema(rows, ignore)))


def execute(path: Path, sql: str) -> None:
    connection = sqlite3.connect(path)
    connection.executescript(sql)
    connection.close()


def tables(path: Path) -> set[str]:
    return {r[0] for r in query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.mark.parametrize(
    ("database", "package", "upto", "through"),
    [
        ("io-db", "packages/io", 2, "0002_api_keys"),
        ("io-db", "packages/io", 5, "0005_workflows"),  # 0004 seeds rows: schema-neutral
        ("io-db", "packages/io", 12, "0012_audit_log"),
        (
            "create-something-db",
            "packages/space",
            11,
            "0011_user_preferences",
        ),  # before a DROP COLUMN
        (
            "create-something-db",
            "packages/space",
            14,
            "0014_analytics_events",
        ),  # across two packages
        ("templates-platform-db", None, 9, "0009_fix_tier_constraint"),  # a CHECK changes
    ],
)
def test_hand_migrated_database_is_matched_at_the_right_point(
    monorepo: Path, database: str, package: str | None, upto: int, through: str
) -> None:
    path = apply_by_hand(monorepo, database, upto, package)
    before = path.read_bytes()
    code, doc = cli_json("adopt", "--db", database, "--root", str(monorepo))
    assert code == 0, doc
    target = next(t for t in doc["targets"] if t["state"] not in ("missing",))
    assert (target["state"], target["through"], target["count"]) == ("matched", through, upto)
    assert target["extra"] == [] and target["matched"]
    assert len(target["record"]) == upto and target["record"][-1] == through
    assert path.read_bytes() == before  # without --write nothing is written


def test_write_records_the_baseline_and_apply_finishes_the_job(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "io-db", 5, "packages/io")
    code, out, _ = cli("adopt", "--db", "io-db", "--root", str(monorepo))
    assert code == 0
    assert "io-db (packages/io): matches the schema after 0005_workflows (5 of 12)" in out
    assert (
        "missing (what 0006_workflow_runs would add): table workflow_runs (with 1 check, 9 columns"
        in out
    )
    assert "extra: none" in out
    assert "0004_seed_core_plugins changes no structure" in out
    assert "io-db (packages/admin): no state yet" in out

    code, doc = cli_json("adopt", "--db", "io-db", "--root", str(monorepo), "--yes")
    assert code == 0 and doc["written"] is True
    assert ledger(path) == [f"{n}.sql" for n in doc["targets"][1]["record"]]
    by = {r[0] for r in query(path, "SELECT applied_by FROM _migrations")}
    assert by == {"orchestrate adopt"}
    assert query(path, "SELECT name FROM d1_migrations ORDER BY id")[-1] == ("005_workflows.sql",)

    code, run = cli_json("apply", "--db", "io-db", "--root", str(monorepo))
    assert code == 0, run
    assert len(ledger(path)) == 12
    settings = load_settings(monorepo)
    expected = replay_prefixes(find_database(settings, None, "io-db")).facts[-1]
    assert facts_of(path) == expected


def test_drift_is_reported_and_nothing_is_recorded(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "agency-db", 4)
    execute(path, "ALTER TABLE leads ADD COLUMN notes TEXT;")
    before = path.read_bytes()
    code, out, _ = cli("adopt", "--db", "agency-db", "--root", str(monorepo), "--yes")
    assert code == 1
    assert "matches no prefix of the plan cleanly; closest: after 0004_assessments" in out
    assert "extra: column leads.notes TEXT" in out and "missing: none" in out
    assert "Nothing recorded" in out
    assert path.read_bytes() == before and "_migrations" not in tables(path)


def test_trailing_seed_cannot_be_told_apart_so_it_stays_pending(monorepo: Path) -> None:
    apply_by_hand(monorepo, "io-db", 3, "packages/io")
    code, out, _ = cli("adopt", "--db", "io-db", "--root", str(monorepo))
    assert code == 0
    assert "matches the schema after 0004_seed_core_plugins (4 of 12)" in out  # the longest
    assert "not provable from the schema: 0004_seed_core_plugins" in out and "left pending" in out
    code, doc = cli_json("adopt", "--db", "io-db", "--root", str(monorepo), "--yes")
    (target,) = [t for t in doc["targets"] if t["state"] == "matched"]
    assert code == 0 and target["record"] == ["0001_accounts", "0002_api_keys", "0003_plugins"]


def test_table_recreation_is_told_apart_by_its_check_constraint(monorepo: Path) -> None:
    apply_by_hand(monorepo, "templates-platform-db", 8)
    code, doc = cli_json("adopt", "--db", "templates-platform-db", "--root", str(monorepo))
    target = doc["targets"][0]
    assert code == 0 and target["through"] == "0008_backfill_template_versions"
    assert any(m.startswith("check on templates: CHECK") for m in target["missing"])


def test_half_applied_migration_is_drift(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "io-db", 5, "packages/io")
    sixth = migration_files(monorepo, "io-db")[5].read_text()
    execute(path, sixth.split("CREATE INDEX", 1)[0])  # the table, not its indexes
    code, doc = cli_json("adopt", "--db", "io-db", "--root", str(monorepo), "--yes")
    assert code == 1 and doc["clean"] is False and doc["written"] is False
    target = next(t for t in doc["targets"] if t["state"] == "drift")
    assert target["through"] == "0006_workflow_runs"
    assert any("index idx_workflow_runs" in m for m in target["missing"])
    assert "_migrations" not in tables(path)


def test_missing_index_is_drift_with_the_index_as_evidence(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "learn-db", 11)
    execute(path, "DROP INDEX idx_lesson_notes_learner_id;")
    code, doc = cli_json("adopt", "--db", "learn-db", "--root", str(monorepo))
    target = doc["targets"][0]
    assert code == 1 and target["state"] == "drift" and target["through"] == "0011_lesson_notes"
    assert target["missing"] == ["index idx_lesson_notes_learner_id on lesson_notes(learner_id)"]


def test_database_with_a_ledger_is_left_alone(monorepo: Path) -> None:
    assert cli("apply", "--db", "agency-db", "--root", str(monorepo))[0] == 0
    code, out, _ = cli("adopt", "--db", "agency-db", "--root", str(monorepo), "--yes")
    assert code == 0 and "has a ledger already" in out
    assert len(ledger(state_path(monorepo, "agency-db"))) == 6


def test_empty_database_records_nothing(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "agency-db", 0)
    code, out, _ = cli("adopt", "--db", "agency-db", "--root", str(monorepo), "--yes")
    assert code == 0 and "no tables: nothing was applied" in out
    assert "_migrations" not in tables(path)


def test_facts_ignore_sql_spelling_but_not_structure() -> None:
    def facts(*sql: str) -> frozenset[object]:
        connection = sqlite3.connect(":memory:")
        for statement in sql:
            connection.execute(statement)
        return frozenset(schema_facts(snapshot_schema(connection)))

    base = facts(
        "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)", "CREATE INDEX i ON t(b)"
    )
    assert base == facts(
        'create table "T"(\n  a integer primary key, -- the id\n  b text not null\n)',
        "CREATE INDEX I ON T (B)",
    )
    assert base != facts("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)", "CREATE INDEX i ON t(b)")
    assert base != facts(
        "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)", "CREATE INDEX i ON t(a)"
    )


def test_rebuild_reproduces_fts_triggers_and_views(monorepo: Path) -> None:
    path = apply_by_hand(monorepo, "create-something-db", 12, "packages/space")
    connection = sqlite3.connect(path)
    direct = schema_facts(snapshot_schema(connection))
    connection.close()
    assert facts_of(path) == direct
    assert any(f.kind == "trigger" for f in direct)


class TestWithRealWrangler:
    pytestmark = needs_wrangler

    def test_wrangler_execute_by_hand_then_adopt_then_both_tools_agree(
        self, monorepo: Path
    ) -> None:
        agency = monorepo / "packages/agency"
        for file in migration_files(monorepo, "agency-db")[:3]:
            done = wrangler(agency, "d1", "execute", "agency-db", "--local", "--file", str(file))
            assert done.returncode == 0, done.stdout + done.stderr
        code, doc = cli_json("adopt", "--db", "agency-db", "--root", str(monorepo), "--yes")
        assert code == 0, doc
        assert doc["targets"][0]["through"] == "0003_leads"
        listed = wrangler(agency, "d1", "migrations", "list", "agency-db", "--local")
        assert "0004_assessments.sql" in listed.stdout and "0003_leads.sql" not in listed.stdout
        code, run = cli_json("apply", "--db", "agency-db", "--root", str(monorepo))
        assert code == 0 and len(run["databases"][0]["applied"]) == 3
        listed = wrangler(agency, "d1", "migrations", "list", "agency-db", "--local")
        assert "No migrations to apply" in listed.stdout, listed.stdout
