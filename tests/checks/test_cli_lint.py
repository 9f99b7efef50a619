"""`orchestrate lint` and `orchestrate check` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.cli.commands import app
from tests.conftest import TreeWriter, toml_binding

ID = "22222222-2222-2222-2222-222222222222"
runner = CliRunner()
HEADER = """\
-- Migration: {n} - t
-- Created: 2025-01-01
-- Purpose: test.
-- Changes:
-- - t
-- Verification:
-- SELECT 1;
"""
CLEAN = HEADER.format(n="0001") + "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);\n"
BROKEN = HEADER.format(n="0002") + "BEGIN;\nINSERT OR IGNORE INTO t (id) VALUES (1);\nCOMMIT;\n"
PATTERN_2 = "packages/templates-platform/migrations/0009_fix_tier_constraint.sql"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(*args, "--format", "json")
    assert out, err
    return code, json.loads(out)


def small_repo(tree: TreeWriter, *files: tuple[str, str]) -> Path:
    layout = {"packages/app/wrangler.toml": toml_binding("app-db", ID)}
    layout.update({f"packages/app/migrations/{name}": sql for name, sql in files})
    return tree(layout)


def line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


NOTIFICATIONS_N001 = ("N001", "packages/notifications/migrations/001_notification_channels.sql", 1)


def test_check_on_the_fixtures_reports_pattern_2_and_nothing_else(monorepo: Path) -> None:
    code, doc = run_json("check", "--root", str(monorepo))
    assert code == 1 and doc["version"] == 1
    errors = {
        (f["rule"], f["file"], f["line"]) for f in doc["findings"] if f["severity"] == "error"
    }
    drop = line_of(monorepo / PATTERN_2, "DROP TABLE templates;")
    # notifications binds D1 only in [env.*]: checked without --env too, 3-digit names
    # there are errors under the fixture's strict profile (io-db alone relaxes N001)
    # One problem, one finding: the probe's numbers join the static cascade finding (no P001).
    assert errors == {("D002", PATTERN_2, drop), NOTIFICATIONS_N001}
    cascade = next(f for f in doc["findings"] if f["rule"] == "D002")
    assert "template_versions" in cascade["message"] and "template_purchases" in cascade["message"]
    assert cascade["message"].endswith(
        "Measured (P001): template_purchases kept 0 of 3 rows; template_versions kept 0 of 7 rows"
    )
    # Every other migration is clean or suppressed; 3-digit io names wait for `normalize`.
    others = {
        (f["rule"], f["file"].split("/")[1]) for f in doc["findings"] if f["severity"] != "error"
    }
    assert others == {
        ("N001", "io"),
        ("D001", "templates-platform"),
        ("config.env-only", "notifications"),
    }
    assert all(r["replayed"] == r["migrations"] for r in doc["replay"])


def test_check_json_findings_follow_the_contract(monorepo: Path) -> None:
    _, doc = run_json("check", "--root", str(monorepo))
    for finding in doc["findings"]:
        assert {"rule", "severity", "file", "line", "message"} <= set(finding)
        assert finding["file"] is None or not finding["file"].startswith("/")


def test_lint_is_static_and_still_fails_on_the_cascade(monorepo: Path) -> None:
    code, doc = run_json("lint", "--root", str(monorepo))
    rules = {f["rule"] for f in doc["findings"]}
    assert code == 1 and "D002" in rules and "P001" not in rules and "config.env-only" not in rules


def test_lint_paths_narrow_the_report(monorepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(monorepo)
    code, doc = run_json("lint", "packages/io/migrations")
    assert code == 0
    assert doc["findings"] and {f["file"].split("/")[1] for f in doc["findings"]} == {"io"}
    code, doc = run_json("lint", PATTERN_2)
    assert code == 1 and {f["file"] for f in doc["findings"]} == {PATTERN_2}


def test_lint_db_selects_a_database(monorepo: Path) -> None:
    code, doc = run_json("lint", "--root", str(monorepo), "--db", "learn-db")
    assert code == 0 and doc["findings"] == []


def test_lint_a_loose_file_outside_any_binding(tree: TreeWriter) -> None:
    root = small_repo(tree, ("0001_t.sql", CLEAN))
    (root / "scratch").mkdir()
    (root / "scratch" / "add_users.sql").write_text(
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n"
    )
    code, doc = run_json("lint", "--root", str(root), str(root / "scratch"))
    assert code == 0  # conventions only: warnings by default
    assert {f["rule"] for f in doc["findings"]} >= {"N002", "I001", "H001"}


def test_clean_repo_exits_zero_and_errors_exit_one(tree: TreeWriter) -> None:
    root = small_repo(tree, ("0001_t.sql", CLEAN))
    assert run("check", "--root", str(root))[0] == 0
    (root / "packages/app/migrations/0002_seed.sql").write_text(BROKEN)
    code, doc = run_json("check", "--root", str(root))
    assert code == 1 and {f["rule"] for f in doc["findings"]} == {"D003"}
    assert sorted(f["line"] for f in doc["findings"]) == [8, 10]


def test_text_groups_by_file_and_shows_the_line(tree: TreeWriter) -> None:
    root = small_repo(tree, ("0001_t.sql", CLEAN), ("0002_seed.sql", BROKEN))
    code, out, _ = run("lint", "--root", str(root))
    assert code == 1
    assert "packages/app/migrations/0002_seed.sql" in out and "D003" in out
    assert "8 │ BEGIN;" in out and "2 errors, 0 warnings" in out


def test_github_annotations(tree: TreeWriter) -> None:
    root = small_repo(tree, ("0001_t.sql", CLEAN), ("0002_seed.sql", BROKEN))
    code, out, _ = run("check", "--root", str(root), "--format", "github")
    assert code == 1
    first = out.splitlines()[0]
    assert (
        first.startswith("::error file=")
        and ",line=8,title=D003 d1/transaction-statement::" in first
    )
    assert "packages/app/migrations/0002_seed.sql" in first


def test_usage_errors_exit_two(tree: TreeWriter) -> None:
    root = small_repo(tree, ("0001_t.sql", CLEAN))
    assert run("lint", "--root", str(root), "--format", "markdown")[0] == 2
    code, _, err = run("lint", "--root", str(root), str(root / "missing.sql"))
    assert code == 2 and "does not exist" in err


def test_bad_lint_config_exits_two_with_file_and_line(tree: TreeWriter) -> None:
    root = small_repo(tree, ("0001_t.sql", CLEAN))
    (root / "workspace.toml").write_text('[lint]\nignore = ["I001"]\nselekt = ["N"]\n')
    code, _, err = run("check", "--root", str(root))
    assert (
        code == 2
        and "workspace.toml:3:" in err
        and "selekt" in err
        and "did you mean 'select'" in err
    )
    assert "Traceback" not in err


def test_lint_config_in_workspace_toml_applies(tree: TreeWriter) -> None:
    root = small_repo(tree, ("0001_t.sql", CLEAN), ("0002_seed.sql", BROKEN))
    (root / "workspace.toml").write_text(
        '[lint.paths."packages/app/**"]\nseverity = { D003 = "warning" }\n'
    )
    code, doc = run_json("check", "--root", str(root))
    assert code == 0 and {f["severity"] for f in doc["findings"]} == {"warning"}


def test_check_and_lint_write_nothing(monorepo: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in monorepo.rglob("*")}
    run("check", "--root", str(monorepo))
    run("lint", "--root", str(monorepo), "--format", "sarif")
    after = {p: p.stat().st_mtime_ns for p in monorepo.rglob("*")}
    assert after == before and not any(".wrangler" in str(p) for p in after)


def test_help_has_an_example() -> None:
    for command in ("lint", "check"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "Example" in out


def test_the_recommended_recipe_fixes_the_fixture(monorepo: Path) -> None:
    path = monorepo / PATTERN_2
    sql = path.read_text()
    children = ("template_versions", "template_purchases")
    backups = "".join(f"CREATE TABLE {c}_backup AS SELECT * FROM {c};\n" for c in children)
    restore = "".join(f"INSERT OR IGNORE INTO {c} SELECT * FROM {c}_backup;\n" for c in children)
    drops = "".join(f"DROP TABLE {c}_backup;\n" for c in children)
    sql = sql.replace("PRAGMA foreign_keys=OFF;", "PRAGMA defer_foreign_keys = on;\n" + backups)
    sql = sql.replace("PRAGMA foreign_keys=ON;", restore + drops)
    path.write_text(sql)
    code, doc = run_json("check", "--root", str(monorepo))
    assert code == 1  # the notifications names, under the strict profile
    errors = {
        (f["rule"], f["file"], f["line"]) for f in doc["findings"] if f["severity"] == "error"
    }
    assert errors == {NOTIFICATIONS_N001}  # naming, which `orchestrate normalize` fixes
    assert not [f for f in doc["findings"] if f["file"] == PATTERN_2]


def test_lint_reports_a_migration_it_cannot_read(tmp_path: Path) -> None:
    from tests.conftest import toml_binding, write_tree

    root = write_tree(
        tmp_path / "enc",
        {
            "p/wrangler.toml": toml_binding("p-db", "11111111-2222-3333-4444-555555555555"),
            "p/migrations/0001_bad.sql": b"-- caf\xe9\nSELECT 1;\n",
        },
    )
    result = CliRunner().invoke(app, ["lint", "--root", str(root), "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 1
    assert [(f["rule"], f["file"], f["line"]) for f in findings] == [
        ("source.encoding", "p/migrations/0001_bad.sql", 1)
    ]


def test_an_i003_suppression_covers_the_measured_second_run(tmp_path: Path) -> None:
    from tests.conftest import write_tree

    header = "-- Migration: 0001 - t\n-- Created: 2025-01-01\n-- Purpose: t\n--\n-- Changes:\n-- - t\n--\n-- Verification:\n-- SELECT 1;\n"
    root = write_tree(
        tmp_path / "sup",
        {
            "p/wrangler.toml": toml_binding("p-db", "11111111-2222-3333-4444-555555555556"),
            "p/migrations/0001_t.sql": header
            + "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT);\n"
            + "-- orchestrate: ignore[I003] the ledger runs this once; the row is keyed\n"
            + "INSERT INTO t (id, a) VALUES (4, 'x');\n",
        },
    )
    result = CliRunner().invoke(app, ["check", "--root", str(root), "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert result.exit_code == 0, findings
    assert not [f for f in findings if f["rule"] in ("I003", "I005")]
