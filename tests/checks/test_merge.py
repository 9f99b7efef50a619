"""One problem, one finding: the probe's measured loss (P001) and the static cascade rule
(D002) on the same line about the same tables are one D002 finding with the numbers;
different tables, or a loss only one of them sees, stay separate findings."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.checks.catalog import CONFIRMS
from orchestrator.checks.config import parse_lint_config
from orchestrator.checks.findings import Evidence, Finding
from orchestrator.checks.merge import merge_measured
from orchestrator.cli.commands import app
from orchestrator.model import Severity
from tests.checks.helpers import header_lines, run_rules
from tests.conftest import TreeWriter, toml_binding

PARENT = "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
CHILD = """
    CREATE TABLE IF NOT EXISTS child (
      id INTEGER PRIMARY KEY,
      parent_id INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE
    );
    CREATE INDEX IF NOT EXISTS idx_child_parent ON child(parent_id);
"""
REBUILD = """
    CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT);
    INSERT INTO parent_new (id, name) SELECT id, name FROM parent;
    DROP TABLE parent;
    ALTER TABLE parent_new RENAME TO parent;
"""
DROP_LINE = header_lines() + 3
# A trigger that empties sessions whenever an account's status changes.
ACCOUNTS = """
    CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'Active');
    CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id));
    CREATE INDEX IF NOT EXISTS idx_sessions_account ON sessions(account_id);
    CREATE TRIGGER IF NOT EXISTS trg_logout AFTER UPDATE OF status ON accounts
    BEGIN DELETE FROM sessions WHERE account_id = NEW.id; END;
"""


def errors(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.is_error]


def test_a_measured_cascade_is_one_d002_with_the_numbers() -> None:
    [cascade] = errors(run_rules([PARENT, CHILD, REBUILD]))
    assert (cascade.rule, cascade.line) == ("D002", DROP_LINE)
    assert "recreating parent deletes or nulls the rows of child (ON DELETE CASCADE)" in (
        cascade.message
    )
    assert "orchestrate recreate parent" in cascade.message  # the fix stays
    assert cascade.message.endswith("Measured (P001): child kept 0 of 3 rows")
    assert cascade.evidence == (Evidence("child", "child kept 0 of 3 rows"),)


def test_two_recreations_in_one_migration_each_get_their_own_numbers() -> None:
    other = "CREATE TABLE IF NOT EXISTS tag (id INTEGER PRIMARY KEY, label TEXT NOT NULL);"
    tagged = (
        "CREATE TABLE IF NOT EXISTS item_tag (id INTEGER PRIMARY KEY, "
        "tag_id INTEGER NOT NULL REFERENCES tag(id) ON DELETE CASCADE);\n"
        "CREATE INDEX IF NOT EXISTS idx_item_tag_tag ON item_tag(tag_id);"
    )
    both = (
        REBUILD
        + """
        CREATE TABLE tag_new (id INTEGER PRIMARY KEY, label TEXT NOT NULL, color TEXT);
        INSERT INTO tag_new (id, label) SELECT id, label FROM tag;
        DROP TABLE tag;
        ALTER TABLE tag_new RENAME TO tag;
    """
    )
    found = errors(run_rules([PARENT, CHILD, other, tagged, both]))
    assert [(f.rule, f.line) for f in found] == [
        ("D002", DROP_LINE),
        ("D002", DROP_LINE + 5),
    ]  # after a blank line
    assert found[0].message.endswith("Measured (P001): child kept 0 of 3 rows")
    assert found[1].message.endswith("Measured (P001): item_tag kept 0 of 3 rows")


def test_different_tables_on_the_same_line_stay_two_findings() -> None:
    # The probe cannot fill child (no synthetic code is 3 characters long), so it measures
    # nothing there; the status backfill's trigger empties sessions, which no DROP explains.
    unfillable = """
        CREATE TABLE IF NOT EXISTS child (
          id INTEGER PRIMARY KEY,
          parent_id INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE,
          code TEXT NOT NULL CHECK (length(code) = 3)
        );
        CREATE INDEX IF NOT EXISTS idx_child_parent ON child(parent_id);
    """
    migration = "DROP TABLE parent;\nUPDATE accounts SET status = lower(status);"
    found = errors(run_rules([PARENT, unfillable, ACCOUNTS, migration]))
    assert [(f.rule, f.line, f.subjects) for f in found] == [
        ("D002", header_lines() + 1, ("child",)),
        ("P001", header_lines() + 1, ("sessions",)),
    ]
    assert "Measured" not in found[0].message
    assert "sessions kept 0 of 3 rows" in found[1].message


def test_a_loss_the_static_rule_does_not_name_stays_p001_beside_the_merged_d002() -> None:
    search = """
        CREATE TABLE IF NOT EXISTS child_search (child_id INTEGER NOT NULL, words TEXT NOT NULL);
        CREATE TRIGGER IF NOT EXISTS trg_child_unindex AFTER DELETE ON child
        BEGIN DELETE FROM child_search WHERE child_id = OLD.id; END;
    """
    cascade, rest = errors(run_rules([PARENT, CHILD, search, REBUILD]))
    assert (cascade.rule, rest.rule) == ("D002", "P001") and cascade.line == rest.line
    assert cascade.message.endswith("Measured (P001): child kept 0 of 3 rows")
    assert "child_search kept 0 of 3 rows" in rest.message and "child kept" not in rest.message
    assert rest.subjects == ("child_search",)


def test_only_the_probe_sees_it_p001_alone() -> None:
    [loss] = errors(run_rules([ACCOUNTS, "UPDATE accounts SET status = lower(status);"]))
    assert loss.rule == "P001" and "sessions kept 0 of 3 rows" in loss.message


def test_only_the_static_rule_sees_it_d002_alone() -> None:
    # A CHECK no synthetic value meets: the probe fills neither the parent nor its child.
    parent = "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) = 3));"
    rebuild = REBUILD.replace("name TEXT NOT NULL,", "name TEXT NOT NULL CHECK (length(name) = 3),")
    [cascade] = errors(run_rules([parent, CHILD, rebuild]))
    assert cascade.rule == "D002" and "Measured" not in cascade.message and not cascade.evidence


def test_two_drops_on_one_line_are_two_problems() -> None:
    other = (
        "CREATE TABLE IF NOT EXISTS tag (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE IF NOT EXISTS item_tag (id INTEGER PRIMARY KEY, "
        "tag_id INTEGER NOT NULL REFERENCES tag(id) ON DELETE CASCADE);"
    )
    found = errors(run_rules([PARENT, CHILD, other, "DROP TABLE parent; DROP TABLE tag;"]))
    assert sorted((f.rule, f.subjects) for f in found) == [
        ("D002", ("child",)),
        ("D002", ("item_tag",)),
    ]
    assert all("Measured (P001)" in f.message for f in found)


def test_suppressions_keep_their_meaning() -> None:
    suppressed = "-- orchestrate: ignore[D002] the children are rebuilt by the app\n"
    lines = REBUILD.strip().splitlines()
    lines.insert(2, suppressed.strip())
    [loss] = errors(run_rules([PARENT, CHILD, "\n".join(lines)]))
    assert loss.rule == "P001" and "child kept 0 of 3 rows" in loss.message
    lines[2] = "-- orchestrate: ignore[P001] measured on purpose"
    found = run_rules([PARENT, CHILD, "\n".join(lines)])
    [cascade] = errors(found)
    assert cascade.rule == "D002" and "Measured" not in cascade.message
    assert "Q003" not in {f.rule for f in found}  # the P001 suppression was used


def test_the_merged_finding_takes_the_higher_severity() -> None:
    def config(text: str):  # type: ignore[no-untyped-def]
        return parse_lint_config(tomllib.loads(text)["lint"])

    lowered = config('[lint]\nseverity = { P001 = "warning" }')
    [cascade] = errors(run_rules([PARENT, CHILD, REBUILD], config=lowered))
    assert cascade.rule == "D002" and "Measured (P001)" in cascade.message
    both_low = config('[lint]\nseverity = { P001 = "error", D002 = "warning" }')
    [cascade] = errors(run_rules([PARENT, CHILD, REBUILD], config=both_low))
    assert cascade.rule == "D002" and cascade.severity is Severity.ERROR
    off = config('[lint]\nseverity = { D002 = "off" }')
    [loss] = errors(run_rules([PARENT, CHILD, REBUILD], config=off))
    assert loss.rule == "P001"


def _finding(rule: str, line: int, subjects: tuple[str, ...] = (), **kw: object) -> Finding:
    evidence = (
        tuple(Evidence(s, f"{s} kept 0 of 3 rows") for s in subjects) if rule == "P001" else ()
    )
    return Finding(
        rule, Severity.ERROR, f"{rule} says", "m/0001.sql", line, "db", subjects, evidence
    )


def test_merge_touches_only_the_paired_rules_on_one_line() -> None:
    failure = Finding(
        "L004",
        Severity.ERROR,
        "SQLite refuses this statement: no such table: nowhere",
        "m/0001.sql",
        4,
        "db",
    )
    found = [
        _finding("D002", 4, ("child",)),
        _finding("P001", 4, ("child",)),
        failure,
        _finding("P001", 9, ("child",)),  # another line: a different problem
        _finding("I001", 4),
    ]
    merged = merge_measured(found)
    assert [f.rule for f in merged] == ["D002", "L004", "P001", "I001"]
    assert merged[0].message == "D002 says. Measured (P001): child kept 0 of 3 rows"
    assert merged[1] is failure and merged[2] is found[3]


def test_pairs_are_rule_metadata() -> None:
    assert CONFIRMS == {"P001": ("D002",)}
    assert merge_measured([_finding("P001", 1, ("a",))], confirms={}) == [
        _finding("P001", 1, ("a",))
    ]


def test_a_real_first_run_failure_on_the_line_is_still_reported() -> None:
    found = run_rules([PARENT, CHILD, "DROP TABLE parent; INSERT INTO nowhere (id) VALUES (1);"])
    assert {f.rule for f in errors(found)} == {"D002", "L004"}
    [failure] = [f for f in found if f.rule == "L004"]
    assert "no such table: nowhere" in failure.message


def test_check_outputs_show_one_finding(tree: TreeWriter) -> None:
    migrations = {
        "0001_parent.sql": PARENT,
        "0002_child.sql": CHILD,
        "0003_rebuild.sql": REBUILD.replace("\n    ", "\n").strip() + "\n",
    }
    files = {"packages/app/wrangler.toml": toml_binding("app-db", "3" * 8)}
    files |= {f"packages/app/migrations/{name}": sql for name, sql in migrations.items()}
    root: Path = tree(files)
    runner = CliRunner()

    def check(fmt: str) -> tuple[int, str]:
        result = runner.invoke(app, ["check", "--root", str(root), "--format", fmt])
        return result.exit_code, result.stdout

    code, out = check("json")
    bad = [f for f in json.loads(out)["findings"] if f["severity"] == "error"]
    assert code == 1 and [(f["rule"], f["line"]) for f in bad] == [("D002", 3)]
    assert "Measured (P001): child kept 0 of 3 rows" in bad[0]["message"]
    code, out = check("sarif")
    results = [r for r in json.loads(out)["runs"][0]["results"] if r["level"] == "error"]
    assert code == 1 and [r["ruleId"] for r in results] == ["D002"]
    code, out = check("github")
    assert code == 1 and out.count("::error ") == 1 and "Measured (P001)" in out
    code, out = check("markdown")
    assert code == 1 and "**D002**" in out and "**P001**" not in out
