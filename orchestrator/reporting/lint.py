"""Render lint and check findings: rich text grouped by file, JSON (the DESIGN.md
contract), SARIF 2.1.0 for GitHub code scanning, and GitHub workflow commands.

JSON paths are relative to the workspace root (the contract). GitHub annotations
are read against the checkout, so their paths are prefixed with the root as given
on the command line (``fixtures/monorepo/…``); SARIF paths are relative to the
repository root (the nearest ``.git`` above the workspace), with ``uriBaseId``
``%SRCROOT%``. SARIF is written by hand: the Python SARIF libraries are either
unmaintained (sarif-om, 2019) or bring pydantic for a dozen fields.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from orchestrator import __version__, project
from orchestrator.checks.catalog import BY_CODE, RULES
from orchestrator.checks.findings import Finding, Rule
from orchestrator.checks.problems import PLAN_PROBLEMS
from orchestrator.checks.service import LintReport
from orchestrator.model import Severity
from orchestrator.reporting.output import Format, console, write_json, write_text
from orchestrator.settings import WORKSPACE_FILE

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULE_DOC = "docs/lint-rules.md"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "orchestrateFinding/v1"
SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def finding_dict(finding: Finding) -> dict[str, Any]:
    """One finding as JSON: rule, severity, file, line, message (and its database); a
    finding that stands for several statements also lists their ``lines``."""
    found: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "file": finding.file,
        "line": finding.line,
        "message": finding.message,
        "database": finding.database,
    }
    if finding.lines:
        found["lines"] = list(finding.lines)
    return found


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


def render_sarif(report: LintReport, repo_root: Path | None = None) -> str:
    """A SARIF 2.1.0 log GitHub code scanning accepts: one run, every rule (lint rules and
    plan problems) with its descriptions, help and helpUri, one result per finding with a
    location relative to the repository root (``%SRCROOT%``) and a fingerprint."""
    base = repo_root if repo_root is not None else repository_root(Path(report.root))
    rules = _sarif_rules(report.findings)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    seen: dict[tuple[str, str, str], int] = {}
    results = [_sarif_result(report, base, f, index[f.rule], seen) for f in report.findings]
    driver = {
        "name": "orchestrate",
        "fullName": f"orchestrate ({project.DISTRIBUTION})",
        **_present(informationUri=information_uri()),
        "version": __version__,
        "semanticVersion": __version__,
        "rules": rules,
    }
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``.git`` (None outside one)."""
    here = start.resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return None


def information_uri() -> str | None:
    """The project's home, from ``[project.urls]`` (``orchestrator/project.py``)."""
    return project.homepage()


def help_uri(code: str) -> str | None:
    """Where a rule or plan problem is documented: ``docs/lint-rules.md#anchor`` in the
    repository of ``[project.urls]`` at this version's tag, else the project's home."""
    return project.doc_url(RULE_DOC, doc_anchor(code)) or project.homepage()


def doc_anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation but ``-``/``_``
    dropped, spaces as dashes (``config.depends-on`` → ``configdepends-on``)."""
    kept = "".join(c for c in heading.strip().lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _sarif_rules(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    rules = [_sarif_rule(rule) for rule in RULES]
    rules += [
        _descriptor(code, code, info.summary, info.fix, "plan", Severity.ERROR)
        for code, info in sorted(PLAN_PROBLEMS.items())
    ]
    known = {rule["id"] for rule in rules}
    extra = sorted({f.rule for f in findings if f.rule not in known})
    rules += [
        _descriptor(code, code, f"plan problem {code}", "see the message", "plan", Severity.ERROR)
        for code in extra
    ]
    return rules


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return _descriptor(rule.code, rule.slug, rule.summary, rule.fix, rule.family, rule.severity)


def _descriptor(
    code: str, name: str, summary: str, fix: str, family: str, severity: Severity
) -> dict[str, Any]:
    text = f"{summary[:1].upper()}{summary[1:]}."
    docs = f"{RULE_DOC}#{doc_anchor(code)}"
    uri = help_uri(code)
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": text},
        "help": {
            "text": f"{text} Fix: {fix}. See {docs}.",
            "markdown": f"**{code}** `{name}`: {text}\n\n**Fix:** {fix}.\n\nSee {_md_link(docs, uri)}.",
        },
        **_present(helpUri=uri),
        "defaultConfiguration": {"level": _SARIF_LEVEL[severity]},
        "properties": {"tags": [family]},
    }


def _present(**values: str | None) -> dict[str, str]:
    """The keys whose value is known (SARIF leaves out what it does not have)."""
    return {key: value for key, value in values.items() if value}


def _md_link(text: str, href: str | None) -> str:
    return f"[{text}]({href})" if href else f"`{text}`"


def _sarif_result(
    report: LintReport,
    base: Path | None,
    finding: Finding,
    rule_index: int,
    seen: dict[tuple[str, str, str], int],
) -> dict[str, Any]:
    file = finding.file if finding.file is not None else WORKSPACE_FILE
    line = finding.line if finding.line and finding.line >= 1 else 1
    artifact = _artifact_location(report, base, file)
    uri = artifact["uri"]
    location = {"artifactLocation": artifact, "region": {"startLine": line}}
    # Stable across runs and line moves: the rule, the file and the text of the line (or
    # the message when the file is not read), with a counter for repeats of that triple.
    lines = report.sources.get(finding.file or "", "").splitlines()
    anchor = " ".join(lines[line - 1].split()) if line <= len(lines) else finding.message
    key = (finding.rule, uri, anchor)
    seen[key] = seen.get(key, 0) + 1
    digest = hashlib.sha256("\0".join((*key, str(seen[key]))).encode()).hexdigest()[:32]
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {FINGERPRINT: digest},
    }
    if finding.database is not None:
        result["properties"] = {"database": finding.database}
    return result


def _artifact_location(report: LintReport, base: Path | None, file: str) -> dict[str, str]:
    """``file`` relative to the repository root (``%SRCROOT%``); outside a repository,
    relative to the working directory, or an absolute ``file://`` URI when not under it."""
    path = Path(report.root).resolve() / file
    for root in (base, Path.cwd().resolve()):
        if root is None:
            continue
        try:
            return {"uri": path.relative_to(root).as_posix(), "uriBaseId": SRCROOT}
        except ValueError:
            continue
    return {"uri": path.as_uri()}


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
