"""Reporters: SARIF 2.1.0 structure, GitHub workflow commands, JSON shape."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from orchestrator.checks.catalog import RULES
from orchestrator.checks.findings import Finding
from orchestrator.checks.problems import PLAN_PROBLEMS
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


def _github_upload_checks(log: dict) -> None:
    """What GitHub code scanning documents for a SARIF upload (sarif-support-for-code-scanning):
    version 2.1.0, a driver with a name, rules with unique ids, and results whose ruleId and
    ruleIndex agree, with a message, a level and locations relative to the repository."""
    assert log["$schema"].endswith("sarif-2.1.0.json") and log["version"] == "2.1.0"
    assert set(log) == {"$schema", "version", "runs"}
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert driver["name"] and driver["version"] and driver["semanticVersion"]
        assert re.fullmatch(r"\d+\.\d+\.\d+([-+].+)?", driver["semanticVersion"])
        assert urlparse(driver["informationUri"]).scheme == "https"
        ids = [rule["id"] for rule in driver["rules"]]
        assert len(ids) == len(set(ids))
        for rule in driver["rules"]:
            assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
            assert len(rule["shortDescription"]["text"]) <= 1024
            assert rule["help"]["text"] and rule["help"]["markdown"]
            assert urlparse(rule["helpUri"]).scheme == "https" and urlparse(rule["helpUri"]).netloc
            assert rule["defaultConfiguration"]["level"] in ("none", "note", "warning", "error")
            assert all(isinstance(tag, str) for tag in rule["properties"]["tags"])
        fingerprints = set()
        for result in run["results"]:
            assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["level"] in ("none", "note", "warning", "error")
            assert result["message"]["text"]
            assert 1 <= len(result["locations"]) <= 10
            for location in result["locations"]:
                artifact = location["physicalLocation"]["artifactLocation"]
                uri = artifact["uri"]
                if "uriBaseId" not in artifact:  # outside any checkout: an absolute file URI
                    assert uri.startswith("file:///")
                    continue
                assert artifact["uriBaseId"] == "%SRCROOT%"
                assert not uri.startswith(("/", "./", "../")) and "\\" not in uri
                assert urlparse(uri).scheme == ""
                region = location["physicalLocation"]["region"]
                assert isinstance(region["startLine"], int) and region["startLine"] >= 1
            [(key, value)] = result["partialFingerprints"].items()
            assert key and isinstance(value, str) and value
            fingerprints.add(value)
        assert len(fingerprints) == len(run["results"])  # GitHub would merge equal ones


def test_sarif_passes_github_upload_checks(tmp_path: Path) -> None:
    log = json.loads(render_sarif(REPORT, repo_root=None))
    _github_upload_checks(log)
    [run] = log["runs"]
    ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {r.code for r in RULES} | set(PLAN_PROBLEMS) <= ids
    assert len(run["results"]) == len(FINDINGS)


def test_sarif_every_plan_problem_is_a_documented_rule() -> None:
    rules = {
        r["id"]: r for r in json.loads(render_sarif(REPORT))["runs"][0]["tool"]["driver"]["rules"]
    }
    problem = rules["config.depends-on"]
    assert problem["fullDescription"]["text"].startswith("Depends_on names a database")
    assert "docs/lint-rules.md#configdepends-on" in problem["help"]["text"]
    assert rules["D002"]["help"]["markdown"].startswith("**D002** `d1/cascade-data-loss`")


def test_sarif_uris_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    workspace = tmp_path / "infra" / "db"
    workspace.mkdir(parents=True)
    report = LintReport(root=str(workspace), findings=FINDINGS, files=3)
    results = json.loads(render_sarif(report))["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris[0] == "infra/db/packages/a/migrations/0009_x.sql"
    assert uris[3] == "infra/db/workspace.toml"  # a problem with no file: the workspace file


def test_sarif_outside_a_repository_gives_absolute_file_uris(tmp_path: Path) -> None:
    assert not any((d / ".git").exists() for d in (tmp_path, *tmp_path.parents))
    report = LintReport(root=str(tmp_path), findings=FINDINGS, files=3)
    log = json.loads(render_sarif(report))
    _github_upload_checks(log)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": (tmp_path / "packages/a/migrations/0009_x.sql").as_uri()}


def test_sarif_levels_lines_and_fingerprints() -> None:
    results = json.loads(render_sarif(REPORT))["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note", "error"]
    assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 41
    assert results[3]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    # The fingerprint follows the line's text, not its number: moving it keeps the identity.
    source = "-- header\nDROP TABLE parents;\n"
    moved = "-- header\n-- more\n\nDROP TABLE parents;\n"
    finding = Finding("D002", Severity.ERROR, "drops children", "m/0001_a.sql", 2)
    before = LintReport(root=".", findings=(finding,), sources={"m/0001_a.sql": source})
    after = LintReport(
        root=".", findings=(replace(finding, line=4),), sources={"m/0001_a.sql": moved}
    )
    other = LintReport(
        root=".", findings=(replace(finding, rule="X001"),), sources={"m/0001_a.sql": source}
    )

    def fingerprint(report: LintReport) -> str:
        return json.loads(render_sarif(report))["runs"][0]["results"][0]["partialFingerprints"]

    assert fingerprint(before) == fingerprint(after) != fingerprint(other)


def test_sarif_of_the_fixture_check_passes_github_upload_checks() -> None:
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "check",
            "--root",
            "fixtures/monorepo",
            "--format",
            "sarif",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    log = json.loads(result.stdout)
    _github_upload_checks(log)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris and all((repo / uri).exists() for uri in uris)


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


def test_every_plan_problem_code_is_catalogued_and_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    raised = set()
    for source in (root / "orchestrator").rglob("*.py"):
        text = source.read_text()
        raised |= set(
            re.findall(r'Problem\(\s*Severity\.[A-Z]+,\s*"([a-z0-9]+\.[a-z0-9-]+)"', text)
        )
        raised |= set(
            re.findall(
                r'_(?:error|error_at|problem)\(\s*(?:Severity\.[A-Z]+,\s*)?"([a-z0-9]+\.[a-z0-9-]+)"',
                text,
            )
        )
    assert {"config.none", "plan.cycle", "source.orphan", "config.binding"} <= raised
    assert raised <= set(PLAN_PROBLEMS), raised - set(PLAN_PROBLEMS)
    docs = (root / "docs" / "lint-rules.md").read_text()
    for code in PLAN_PROBLEMS:
        assert f"\n### {code}\n" in docs, code


def test_docs_describe_every_rule_at_its_severity() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "lint-rules.md").read_text()
    for rule in RULES:
        assert f"### {rule.code}\n`{rule.slug}` · {rule.severity.value}" in text, rule.code
        strict = rule.severity_in("strict").value
        assert f"| {rule.code} | {rule.slug} | {rule.severity.value} | {strict} |" in text, (
            rule.code
        )
