"""Reporters: SARIF 2.1.0 structure, GitHub workflow commands, JSON shape."""

from __future__ import annotations

import json

from orchestrator.checks.catalog import RULES
from orchestrator.checks.findings import Finding
from orchestrator.checks.service import LintReport
from orchestrator.model import Severity
from orchestrator.reporting.lint import render_github, render_sarif, report_to_dict

FINDINGS = (
    Finding(
        "D002", Severity.ERROR, "drops children", "packages/a/migrations/0009_x.sql", 41, "a-db"
    ),
    Finding(
        "I004",
        Severity.WARNING,
        "ALTER: not re-runnable, 100%\nsecond line",
        "packages/a/migrations/0007_y.sql",
        14,
    ),
    Finding("H002", Severity.INFO, "no query", "packages/a/migrations/0001_z.sql", 1),
    Finding("config.depends-on", Severity.ERROR, "depends_on names 'x'", None, None, "a-db"),
)
REPORT = LintReport(root="fixtures/monorepo", findings=FINDINGS, files=3)


def test_sarif_is_valid_2_1_0() -> None:
    log = json.loads(render_sarif(REPORT))
    assert log["$schema"].endswith("sarif-2.1.0.json") and log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "orchestrate" and driver["version"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids)) and {r.code for r in RULES} <= set(ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
    assert len(run["results"]) == len(FINDINGS)
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        for location in result.get("locations", []):
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"].startswith("fixtures/monorepo/packages/")
            assert physical["region"]["startLine"] >= 1


def test_sarif_levels_and_locations() -> None:
    results = json.loads(render_sarif(REPORT))["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note", "error"]
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 41
    assert "locations" not in results[3]


def test_github_commands_escape_and_map_levels() -> None:
    lines = render_github(REPORT).splitlines()
    assert lines[0] == (
        "::error file=fixtures/monorepo/packages/a/migrations/0009_x.sql,line=41,"
        "title=D002 d1/cascade-data-loss::drops children"
    )
    assert lines[1].startswith("::warning ") and lines[1].endswith(
        "::ALTER: not re-runnable, 100%25%0Asecond line"
    )
    assert lines[2].startswith("::notice ")
    assert lines[3] == "::error title=config.depends-on::depends_on names 'x'"


def test_json_document() -> None:
    doc = report_to_dict(REPORT)
    assert doc["findings"][0] == {
        "rule": "D002",
        "severity": "error",
        "file": "packages/a/migrations/0009_x.sql",
        "line": 41,
        "message": "drops children",
        "database": "a-db",
    }
    assert doc["summary"] == {"error": 2, "warning": 1, "info": 1, "files": 3}


def test_docs_describe_every_rule_at_its_severity() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "lint-rules.md").read_text()
    for rule in RULES:
        assert f"### {rule.code}\n`{rule.slug}` · {rule.severity.value}" in text, rule.code
        strict = rule.severity_in("strict").value
        assert f"| {rule.code} | {rule.slug} | {rule.severity.value} | {strict} |" in text, (
            rule.code
        )
