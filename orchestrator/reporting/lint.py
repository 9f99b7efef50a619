"""Render lint and check findings: rich text grouped by file, JSON (the DESIGN.md
contract), SARIF 2.1.0 for GitHub code scanning, and GitHub workflow commands.

JSON paths are relative to the workspace root (the contract). SARIF and GitHub
annotations are read against the repository checkout, so their paths are
prefixed with the root as given on the command line (``fixtures/monorepo/…``).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from orchestrator import __version__
from orchestrator.checks.catalog import BY_CODE, RULES
from orchestrator.checks.findings import Finding, Rule
from orchestrator.checks.service import LintReport
from orchestrator.model import Severity
from orchestrator.reporting.output import Format, console, write_json, write_text

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as JSON: rule, severity, file, line, message (and its database)."""
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "file": finding.file,
        "line": finding.line,
        "message": finding.message,
        "database": finding.database,
    }


def report_to_dict(report: LintReport) -> dict[str, Any]:
    """The ``--format json`` document (without ``version``, added on write)."""
    return {
        "root": report.root,
        "findings": [finding_dict(f) for f in report.findings],
        "summary": {**report.counts(), "files": report.files},
        "replay": [
            {
                "database": r.database,
                "migrations": r.migrations,
                "replayed": r.replayed,
                "stopped_at": r.stopped_at,
            }
            for r in report.replays
        ],
    }


def render_lint_text(console: Console, report: LintReport) -> None:
    """Findings grouped by file, each with the offending line highlighted."""
    for file, group in groupby(report.findings, key=lambda f: f.file or ""):
        console.print(Text(file or "(workspace)", style="bold underline"))
        console.print(_file_table(list(group), report.sources.get(file, "").splitlines()))
        console.print()
    console.print(_summary(report))


def _file_table(findings: list[Finding], source: list[str]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="dim", min_width=5)
    table.add_column(min_width=7)
    table.add_column(style="bold")
    table.add_column(ratio=1, overflow="fold")
    for finding in findings:
        severity = Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity])
        table.add_row(str(finding.line or "-"), severity, finding.rule, finding.message)
        if _shows_line(finding, source):
            table.add_row(
                "", "", "", _source_line(finding.line or 0, source[(finding.line or 0) - 1])
            )
    return table


def _shows_line(finding: Finding, source: list[str]) -> bool:
    # Naming and header findings are about the whole file; line 1 would add nothing.
    whole_file = finding.rule[:1] in ("N", "H")
    return not whole_file and finding.line is not None and 0 < finding.line <= len(source)


def _source_line(number: int, line: str) -> Text:
    text = Text(f"{number} │ ", style="dim")
    code = Syntax("", "sql", theme="ansi_dark", background_color="default").highlight(line.rstrip())
    code.rstrip()
    return text + code


def _summary(report: LintReport) -> Text:
    counts = report.counts()
    parts = [
        f"{counts[s.value]} {s.value}{'s' if counts[s.value] != 1 and s is not Severity.INFO else ''}"
        for s in Severity
    ]
    text = Text(", ".join(parts) + f" in {report.files} migration files", style="bold")
    for replay in report.replays:
        if replay.stopped_at:
            text.append(
                f"\nshadow replay of {replay.database or 'the given files'} stopped at {replay.stopped_at}; ",
                style="red",
            )
            text.append(f"{replay.migrations - replay.replayed} later migrations were not replayed")
    return text


def repository_path(report: LintReport, file: str) -> str:
    """``file`` as seen from where the command ran (the root prefixed)."""
    return (
        posixpath.normpath(posixpath.join(report.root, file))
        if report.root not in ("", ".")
        else file
    )


def render_sarif(report: LintReport) -> str:
    """A SARIF 2.1.0 log with one run, every rule and one result per finding."""
    rules = _sarif_rules(report.findings)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = [_sarif_result(report, f, index[f.rule]) for f in report.findings]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "orchestrate", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)


def _sarif_rules(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    rules = [_sarif_rule(rule) for rule in RULES]
    extra = sorted({f.rule for f in findings if f.rule not in BY_CODE})
    rules += [
        {"id": code, "name": code, "shortDescription": {"text": f"plan problem {code}"}}
        for code in extra
    ]
    return rules


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "help": {"text": f"Fix: {rule.fix}. See docs/lint-rules.md#{rule.code.lower()}."},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        "properties": {"tags": [rule.family]},
    }


def _sarif_result(report: LintReport, finding: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
    }
    if finding.file is not None:
        location = {
            "artifactLocation": {"uri": repository_path(report, finding.file)},
            "region": {"startLine": finding.line or 1},
        }
        result["locations"] = [{"physicalLocation": location}]
    return result


def render_github(report: LintReport) -> str:
    """One ``::error file=…,line=…,title=…::message`` workflow command per finding."""
    lines = []
    for finding in report.findings:
        properties = []
        if finding.file is not None:
            properties.append(f"file={_escape_property(repository_path(report, finding.file))}")
            properties.append(f"line={finding.line or 1}")
        rule = BY_CODE.get(finding.rule)
        title = f"{finding.rule} {rule.slug}" if rule else finding.rule
        properties.append(f"title={_escape_property(title)}")
        lines.append(
            f"::{_GITHUB_LEVEL[finding.severity]} {','.join(properties)}::{_escape_data(finding.message)}"
        )
    counts = report.counts()
    lines.append(
        f"orchestrate: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info"
    )
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def write_report(report: LintReport, fmt: Format) -> None:
    """Print ``report`` in ``fmt``: machine formats to stdout in one piece, text via rich."""
    if fmt is Format.JSON:
        write_json(report_to_dict(report))
    elif fmt is Format.SARIF:
        write_text(render_sarif(report))
    elif fmt is Format.GITHUB:
        write_text(render_github(report))
    else:
        render_lint_text(console(), report)
