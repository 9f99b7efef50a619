"""The shadow replay API, on real in-memory SQLite: failures at file:line, the
measured second run, the data-loss probe, schema snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.checks.probe import fill_tables
from orchestrator.checks.schema import snapshot_schema
from orchestrator.checks.shadow import (
    ReplayOptions,
    open_shadow,
    replay,
    replay_step,
    rerun_script,
    run_script,
)
from orchestrator.model import Migration
from tests.checks.helpers import header_lines, parse_all, run_rules
from tests.checks.test_rules import CHILD, PARENT, PATTERN_2, SAFE_RECREATION, SEED, T

MEASURE = ReplayOptions(rerun=True, probe=True)


def test_a_failing_statement_is_an_error_at_its_file_and_line() -> None:
    scripts = parse_all([T, "SELECT 1;\n\nINSERT OR IGNORE INTO nowhere VALUES (1);", "SELECT 2;"])
    result = replay(scripts)
    assert result.stopped is not None
    assert result.stopped.file == scripts[1].file
    assert result.stopped.line == header_lines() + 3
    assert "no such table: nowhere" in result.stopped.message
    assert result.not_run == (scripts[2].file,)


def test_the_failing_migration_leaves_nothing_behind() -> None:
    conn = open_shadow()
    [ok, bad] = parse_all(
        [T, "CREATE TABLE IF NOT EXISTS u (id INTEGER);\nINSERT INTO nowhere VALUES (1);"]
    )
    assert run_script(conn, ok) is None
    assert run_script(conn, bad) is not None
    assert snapshot_schema(conn).table("u") is None and snapshot_schema(conn).table("t") is not None


def test_deferred_foreign_keys_fail_at_the_end_of_the_migration() -> None:
    body = "PRAGMA defer_foreign_keys = on;\nINSERT INTO child (parent_id) VALUES ('ghost');"
    result = replay(parse_all([PARENT, CHILD, body]))
    assert result.stopped is not None and "FOREIGN KEY constraint failed" in result.stopped.message


def test_model_migrations_replay_too() -> None:
    migration = Migration(1, "t", "m/0001_t.sql", "m", "pkg", "sha256:x", T)
    assert replay([migration]).final is not None


def test_second_run_error_versus_alter_warning() -> None:
    # DESIGN.md: an ALTER that cannot re-run is a warning; any other second-run failure is
    # reported once under the idempotency rules: a warning by default, an error when strict.
    alter = run_rules([T, "ALTER TABLE t ADD COLUMN c TEXT;"])
    assert {(f.rule, f.severity.value) for f in alter} == {("I004", "warning")}
    unique = run_rules([T, "INSERT INTO t (id, name) SELECT 1, 'x';"])
    assert {(f.rule, f.severity.value) for f in unique} == {("I003", "warning")}
    assert "UNIQUE constraint failed" in unique[0].message
    create = run_rules(["CREATE TABLE t (id INTEGER PRIMARY KEY);"])
    assert {f.rule for f in create} == {
        "I001"
    }  # the measured I005 on that line is the same problem


def test_second_run_reports_other_failures_past_an_alter() -> None:
    conn = open_shadow()
    [table, both] = parse_all([T, "ALTER TABLE t ADD COLUMN c TEXT;\nCREATE INDEX i ON t(c);"])
    run_script(conn, table)
    run_script(conn, both)
    rerun = rerun_script(conn, both)
    assert [f.index for f in rerun.failures] == [0, 1]


def test_second_run_that_changes_the_schema_is_an_error() -> None:
    body = """
        DROP TABLE IF EXISTS c;
        CREATE TABLE IF NOT EXISTS c AS SELECT * FROM t;
        DROP TABLE IF EXISTS t;
        CREATE TABLE IF NOT EXISTS t AS SELECT *, 1 AS extra FROM c;
    """
    found = [f for f in run_rules([T, body]) if f.rule == "I005"]
    assert found and "changed table" in found[0].message


def test_second_run_is_undone() -> None:
    conn = open_shadow()
    [table, seed] = parse_all([T, "INSERT INTO t (name) SELECT 'x';"])
    run_script(conn, table)
    run_script(conn, seed)
    rerun_script(conn, seed)
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_recreations_are_not_run_twice() -> None:
    result = replay(parse_all([PARENT, CHILD, PATTERN_2]), MEASURE)
    assert result.steps[-1].rerun is None and result.steps[0].rerun is not None


def test_probe_catches_pattern_2_cascade_loss() -> None:
    result = replay(parse_all([PARENT, CHILD, PATTERN_2]), MEASURE)
    step = result.steps[-1]
    assert step.probed
    [loss] = step.losses
    assert loss.table == "child" and loss.before > 0 and loss.after == 0


def test_probe_sees_set_null_losses() -> None:
    note = "CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY KEY, parent_id TEXT REFERENCES parent(id) ON DELETE SET NULL);"
    result = replay(parse_all([PARENT, note, PATTERN_2]), MEASURE)
    assert [(loss.table, loss.column) for loss in result.steps[-1].losses] == [
        ("note", "parent_id")
    ]


def test_probe_rows_do_not_reach_the_replay() -> None:
    conn = open_shadow()
    steps = [
        replay_step(conn, script, MEASURE)
        for script in parse_all([PARENT, CHILD, SEED, SAFE_RECREATION])
    ]
    assert steps[-1].probed and steps[-1].losses == ()
    # Only the seed's rows remain: the probe's synthetic rows were rolled back.
    assert conn.execute("SELECT count(*) FROM parent").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM child").fetchone() == (1,)


def test_probe_skips_migrations_that_cannot_delete() -> None:
    result = replay(parse_all([T, "CREATE INDEX IF NOT EXISTS i ON t(name);"]), MEASURE)
    assert not any(step.probed for step in result.steps)


def test_fill_tables_satisfies_checks_and_foreign_keys() -> None:
    conn = open_shadow()
    review = """
        CREATE TABLE IF NOT EXISTS review (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          parent_id TEXT NOT NULL REFERENCES parent(id) ON DELETE CASCADE,
          rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
          meta TEXT NOT NULL CHECK (json_valid(meta)),
          slug TEXT NOT NULL UNIQUE
        );
    """
    for script in parse_all([PARENT, review]):
        run_script(conn, script)
    counts = fill_tables(conn, snapshot_schema(conn))
    assert counts == {"parent": 3, "review": 3}


def test_snapshot_is_structural() -> None:
    result = replay(parse_all([PARENT, CHILD]))
    assert result.final is not None
    child = result.final.table("child")
    assert child is not None
    assert child.column_names == ("id", "parent_id") and child.rowid_alias() == "id"
    [key] = child.foreign_keys
    assert (key.table, key.columns, key.on_delete) == ("parent", ("parent_id",), "CASCADE")
    assert [i.name for i in child.indexes] == ["idx_child_parent_id"]
    assert result.final.references_to("parent") == (("child", key),)


def test_watched_statements_get_a_snapshot_before_them() -> None:
    scripts = parse_all([PARENT, CHILD, PATTERN_2])
    options = ReplayOptions(
        watch=lambda m, i: m.shapes[i].is_drop(), after=lambda m: bool(m.recreations)
    )
    step = replay(scripts, options).steps[-1]
    [(index, before)] = step.at.items()
    assert scripts[-1].shapes[index].is_drop() and before.table("parent_new") is not None
    assert step.after is not None and step.after.table("parent_new") is None


def test_attach_and_vacuum_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    replay(parse_all([T, "ATTACH DATABASE 'escape.db' AS other;\nVACUUM INTO 'copy.db';"]))
    assert os.listdir(tmp_path) == []


def test_forked_workers_give_the_same_findings() -> None:
    from orchestrator.checks.engine import Unit, analyze_units

    units = [Unit(f"db{n}", parse_all([PARENT, CHILD, PATTERN_2], f"db{n}")) for n in range(3)]
    alone = analyze_units(units, True, workers=1)
    forked = analyze_units(units, True, workers=2, threshold=0)
    assert [r.findings for r in forked] == [r.findings for r in alone]
    assert [r.replayed for r in forked] == [3, 3, 3]
    assert any(f.rule == "P001" for f in forked[0].findings)


def test_the_shadow_runs_the_text_apply_sends_inner_comments_kept() -> None:
    # Apply (like wrangler >= 4.137) keeps comments inside a statement: NOT NULL holds
    # (wrangler 4.86 dropped them and glued INTEGERNOT, which lint rule D008 still flags).
    glued = (
        "CREATE TABLE IF NOT EXISTS g (a INTEGER/*c*/NOT NULL);\nINSERT INTO g (a) VALUES (NULL);"
    )
    conn = open_shadow()
    [script] = parse_all([glued])
    failure = run_script(conn, script)
    assert failure is not None and "NOT NULL" in str(failure)
    conn.execute("CREATE TABLE IF NOT EXISTS g (a INTEGER/*c*/NOT NULL)")
    [(sql,)] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'g'").fetchall()
    assert "(a INTEGER/*c*/NOT NULL)" in sql


BATCH_CASES = [
    [T, "INSERT INTO t (name) VALUES ('a');\nINSERT INTO t (name) VALUES ('b');"],
    [T, "INSERT INTO t (name) VALUES ('a');\nINSERT INTO t (id) VALUES (NULL, 2);\nSELECT 1;"],
    [T, "INSERT INTO t (id, name) VALUES (7, 'a');\nINSERT OR ROLLBACK INTO t (id) VALUES (7);"],
    [
        T,
        "INSERT OR ROLLBACK INTO t (id, name) VALUES (8, 'a');\nINSERT INTO t (name) VALUES ('b');",
    ],
    [
        T,
        "ALTER TABLE t ADD COLUMN c TEXT;\nCREATE INDEX i ON t(c);\nINSERT INTO t (c) VALUES ('x');",
    ],
    [
        T,
        "CREATE TABLE IF NOT EXISTS log (v TEXT UNIQUE);\nCREATE TRIGGER IF NOT EXISTS tr AFTER "
        "INSERT ON t BEGIN INSERT INTO log (v) VALUES (new.name); END;\n"
        "INSERT INTO t (name) VALUES ('a');",
    ],
    [T, "INSERT INTO t (name) VALUES ('a');\nINSERT INTO t (name) VALUES ('a\x00b');"],
    [T, "EXPLAIN SELECT 1; CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END;"],
]


@pytest.mark.parametrize("sources", BATCH_CASES)
def test_one_batch_per_run_sees_what_statement_by_statement_sees(
    sources: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each run goes to SQLite in one executescript; a failure sends it again statement by
    # statement. Both ways must measure the same: failures and their lines, rows, schema.
    batched = replay(parse_all(sources), MEASURE)
    monkeypatch.setattr("orchestrator.checks.shadow._run_batch", lambda *_: False)
    single = replay(parse_all(sources), MEASURE)
    assert batched == single
