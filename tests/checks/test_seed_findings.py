"""A seed is one problem: one I003 per file and table, and no second shadow run where its
outcome is already known (issue 14: a 50,000-row seed gave 50,000 warnings and ran twice).

Everything runs for real: the rules on the in-memory shadow replay, as ``check`` runs them.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.checks.config import LintConfig
from orchestrator.checks.engine import Unit, analyze_unit, finish
from orchestrator.checks.findings import Finding
from orchestrator.checks.parsed import parse_migration
from orchestrator.checks.rules.idempotency import needs_second_run
from orchestrator.checks.shadow import ReplayOptions, replay
from orchestrator.reporting.lint import finding_dict
from tests.checks.helpers import M, codes, parse_all, run_rules

KEYED = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT UNIQUE);"
LOG = "CREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY, w TEXT);"


def seed(table: str, column: str, count: int, start: int = 0) -> str:
    return "".join(f"INSERT INTO {table} ({column}) VALUES ('{i}');\n" for i in range(start, count))


def i003(findings: list[Finding]) -> list[tuple[int | None, tuple[int, ...]]]:
    return [(f.line, f.lines) for f in findings if f.rule == "I003"]


def test_a_seed_is_one_finding_per_table_with_every_line() -> None:
    rows = "".join(
        f"INSERT INTO t (v) VALUES ('{i}');\nINSERT INTO u (w) VALUES ('{i}');\n" for i in range(3)
    )
    found = run_rules([KEYED + "\n" + LOG, M(rows, header=False)])
    assert i003(found) == [(1, (1, 3, 5)), (2, (2, 4, 6))]
    [keyed, _] = [f for f in found if f.rule == "I003"]
    assert keyed.message.startswith("3 plain INSERTs of seed rows into t (lines 1–5): ")
    assert "INSERT OR IGNORE INTO t" in keyed.message


def test_one_seed_insert_reads_as_before() -> None:
    [found] = [f for f in run_rules([KEYED, "INSERT INTO t (v) VALUES ('a');"]) if f.rule == "I003"]
    assert found.lines == () and found.message.startswith("plain INSERT of seed rows into t: ")


def test_a_suppression_still_covers_exactly_its_statement() -> None:
    body = (
        "INSERT INTO t (v) VALUES ('a');\n"
        "-- orchestrate: ignore[I003] this row is keyed by hand\n"
        "INSERT INTO t (v) VALUES ('b');\n"
        "INSERT INTO t (v) VALUES ('c');\n"
    )
    found = run_rules([KEYED, M(body, header=False)])
    assert i003(found) == [(1, (1, 4))]
    assert "Q003" not in codes(found)  # the suppression silenced something: not stale


def test_ignore_file_covers_the_whole_seed() -> None:
    body = "-- orchestrate: ignore-file[I003] seeds run once\n" + seed("t", "v", 40)
    found = run_rules([KEYED, M(body, header=False)])
    assert not {"I003", "Q003"} & codes(found)


def test_a_measured_failure_inside_a_seed_is_the_same_finding() -> None:
    # The INSERT … SELECT makes the shadow run the file twice; the seed rows then fail on
    # their UNIQUE key, on lines the seed's finding already names. Only the SELECT's own
    # measured finding is separate.
    body = "INSERT INTO t (v) VALUES ('a');\nINSERT INTO t (v) SELECT 'b';\nINSERT INTO t (v) VALUES ('c');\n"
    found = run_rules([KEYED, M(body, header=False)])
    assert i003(found) == [(1, (1, 3)), (2, ())]
    measured = next(f for f in found if f.rule == "I003" and f.line == 2)
    assert "UNIQUE constraint failed" in measured.message


def test_json_lists_the_lines_of_a_grouped_finding() -> None:
    found = run_rules([KEYED, M(seed("t", "v", 4), header=False)])
    [grouped] = [f for f in found if f.rule == "I003"]
    document = json.loads(json.dumps(finding_dict(grouped)))
    assert document["line"] == 1 and document["lines"] == [1, 2, 3, 4]
    single = next(f for f in found if f.rule != "I003")
    assert "lines" not in finding_dict(single)


@pytest.mark.parametrize(
    ("body", "needed"),
    [
        (KEYED + "\n" + seed("t", "v", 3), False),
        (
            "CREATE INDEX IF NOT EXISTS i ON t(v);\nCREATE VIEW IF NOT EXISTS vt AS SELECT v FROM t;",
            False,
        ),
        ("PRAGMA foreign_keys=OFF;\n" + seed("t", "v", 2), False),  # the shadow never runs it
        (seed("t", "v", 2) + "INSERT OR IGNORE INTO t (v) VALUES ('x');", True),
        (seed("t", "v", 2) + "INSERT INTO t (v) SELECT 'x';", True),
        (seed("t", "v", 2) + "INSERT INTO t (v) VALUES ('x') ON CONFLICT DO NOTHING;", True),
        ("CREATE TABLE t2 (id INTEGER PRIMARY KEY);", True),
        ("CREATE TEMP TABLE IF NOT EXISTS t2 (id INTEGER);", True),
        ("CREATE VIRTUAL TABLE IF NOT EXISTS f USING fts5(body);", True),
        ("INSERT INTO f (f) VALUES ('rebuild');", True),  # an FTS command: no I003 stands there
        (seed("t", "v", 2) + "UPDATE t SET v = v || 'x';", True),
        (seed("t", "v", 2) + "ALTER TABLE t ADD COLUMN z TEXT;", True),
        ("PRAGMA defer_foreign_keys = on;\n" + seed("t", "v", 2), True),
    ],
)
def test_which_migrations_the_shadow_runs_twice(body: str, needed: bool) -> None:
    assert needs_second_run(parse_migration("m/0001_x.sql", body)) is needed


def test_a_known_second_run_is_not_run() -> None:
    migrations = parse_all([KEYED, seed("t", "v", 5)])
    options = ReplayOptions(rerun=True, rerun_needed=needs_second_run)
    steps = replay(migrations, options).steps
    assert [s.rerun is None for s in steps] == [True, True]
    forced = replay(migrations, ReplayOptions(rerun=True)).steps
    assert forced[1].rerun is not None and forced[1].rerun.failures  # UNIQUE, as I003 says


SETUP = """
CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY, w TEXT);
CREATE TABLE IF NOT EXISTS log (m TEXT);
CREATE TABLE IF NOT EXISTS p (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES p(id));
CREATE VIRTUAL TABLE IF NOT EXISTS f USING fts5(body);
INSERT OR IGNORE INTO p (id) VALUES (1);
"""
STATEMENTS = [
    "INSERT INTO t (v) VALUES ('a');",
    "INSERT INTO t (v) VALUES ('b'), ('c');",
    "INSERT INTO t VALUES (10, 'z');",
    "INSERT INTO u (w) VALUES ('a');",
    "INSERT OR ABORT INTO u (w) VALUES ('b');",
    "INSERT OR FAIL INTO t (v) VALUES ('f');",
    "INSERT OR ROLLBACK INTO t (v) VALUES ('r');",
    "INSERT INTO u DEFAULT VALUES;",
    "INSERT INTO c (id, p) VALUES (7, 1);",
    "INSERT INTO c (id, p) VALUES (8, 2);",
    "INSERT INTO n (k) VALUES ('k');",
    "INSERT INTO f (body) VALUES ('x');",
    "INSERT INTO f (f) VALUES ('rebuild');",
    "INSERT OR IGNORE INTO t (v) VALUES ('q');",
    "INSERT OR IGNORE INTO u (w) VALUES ('q');",
    "INSERT INTO u (w) SELECT 'x';",
    "INSERT INTO t (v) VALUES ('u') ON CONFLICT DO NOTHING;",
    "CREATE TABLE IF NOT EXISTS n (id INTEGER PRIMARY KEY, k TEXT UNIQUE);",
    "CREATE TABLE n (id INTEGER PRIMARY KEY, k TEXT);",
    "CREATE INDEX IF NOT EXISTS iu ON u(w);",
    "CREATE UNIQUE INDEX IF NOT EXISTS iuw ON u(w);",
    "CREATE VIEW IF NOT EXISTS vt AS SELECT v FROM t;",
    "CREATE TRIGGER IF NOT EXISTS tg AFTER INSERT ON u BEGIN INSERT INTO log (m) VALUES (NEW.w); END;",
    "CREATE TRIGGER IF NOT EXISTS t_full BEFORE INSERT ON t WHEN (SELECT count(*) FROM t) > 2 "
    "BEGIN SELECT RAISE(ABORT, 't is full'); END;",
    "CREATE TRIGGER IF NOT EXISTS wipe AFTER INSERT ON log BEGIN DELETE FROM u; END;",
    "CREATE TRIGGER IF NOT EXISTS once BEFORE INSERT ON u WHEN EXISTS (SELECT 1 FROM u "
    "WHERE w = NEW.w) BEGIN SELECT RAISE(ROLLBACK, 'w twice'); END;",
    "PRAGMA foreign_keys=OFF;",
    "UPDATE u SET w = 'y';",
    "ALTER TABLE u ADD COLUMN z TEXT;",
    "DROP TABLE IF EXISTS vt;",
]


LATER = "CREATE UNIQUE INDEX IF NOT EXISTS later_w ON u(w);"


@settings(max_examples=250, deadline=None)
@given(st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=7))
def test_skipping_the_known_second_run_changes_no_finding(body: list[str]) -> None:
    # Whatever the migration, check reports exactly what it reports when every migration
    # runs twice: the skipped runs could only have shown findings I003 already stands for.
    # A later migration sees whatever the second run might have left behind.
    migrations = parse_all([SETUP, "\n".join(body), LATER])
    unit = Unit("app-db", migrations)
    skipped = analyze_unit(unit, measure=True).findings
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("orchestrator.checks.engine.needs_second_run", lambda _: True)
        always = analyze_unit(unit, measure=True).findings
    assert _final(skipped, unit) == _final(always, unit)


def _final(findings: tuple[Finding, ...], unit: Unit) -> tuple[Finding, ...]:
    suppressions = [s for m in unit.migrations for s in m.suppressions]
    return finish(findings, suppressions, LintConfig(), True)


def test_a_second_run_a_rollback_ends_leaves_nothing_behind() -> None:
    # OR ROLLBACK ends the whole transaction: the statements after it once ran outside any
    # savepoint, so the second run's row in u stayed, and the next migration's UNIQUE
    # index failed on the shadow (a false L004). Each statement now runs again inside one.
    body = "INSERT INTO u (w) SELECT 'x';\nINSERT OR ROLLBACK INTO t (v) VALUES ('a');\nINSERT INTO u (w) SELECT 'y';"
    found = run_rules([KEYED + "\n" + LOG, M(body, header=False), M(LATER, header=False)])
    assert "L004" not in codes(found)
    assert sorted(f.line for f in found if f.rule == "I003") == [1, 2]  # u grows; t fails
