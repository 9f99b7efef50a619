"""Run the rules: replay each database, apply every rule, then grade, deduplicate
and suppress the findings. Pure apart from the in-memory shadow databases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestrator.checks.catalog import BY_CODE
from orchestrator.checks.config import LintConfig
from orchestrator.checks.findings import Finding
from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.rules import (
    DATABASE_RULES,
    MIGRATION_RULES,
    Context,
    DatabaseContext,
    wants_after,
    watch,
)
from orchestrator.checks.shadow import Replay, ReplayOptions, replay
from orchestrator.checks.suppress import Suppression, suppression_findings, unused_findings


@dataclass(frozen=True)
class Unit:
    """Migrations analysed together, in apply order: one database, or loose files."""

    database: str | None
    migrations: tuple[ParsedMigration, ...]


@dataclass(frozen=True)
class UnitResult:
    """Raw findings of one unit and the replay they came from."""

    unit: Unit
    findings: tuple[Finding, ...]
    replay: Replay


def replay_options(measure: bool) -> ReplayOptions:
    """The lint replay (schema context only) or the check replay (second run and probe too)."""
    return ReplayOptions(rerun=measure, probe=measure, watch=watch, after=wants_after, final=True)


def analyze_unit(unit: Unit, measure: bool) -> UnitResult:
    """Replay one unit and run every rule over it."""
    result = replay(unit.migrations, replay_options(measure))
    findings: list[Finding] = []
    for parsed in unit.migrations:
        context = Context(parsed, result.step(parsed.file))
        for check in MIGRATION_RULES:
            findings.extend(check(context))
    database = DatabaseContext(unit.database, unit.migrations, result)
    for check_database in DATABASE_RULES:
        findings.extend(check_database(database))
    return UnitResult(unit, tuple(findings), result)


def finish(
    findings: Iterable[Finding],
    migrations: Sequence[ParsedMigration],
    config: LintConfig,
    report_unused: bool,
) -> tuple[Finding, ...]:
    """Add suppression findings, drop duplicates, apply ``[lint]`` and inline suppressions, sort."""
    suppressions = [s for parsed in migrations for s in parsed.suppressions]
    everything = deduplicate([*findings, *suppression_findings(suppressions)])
    graded = [g for g in (config.grade(f) for f in everything) if g is not None]
    kept, used = apply_suppressions(graded, suppressions)
    if report_unused:
        kept += [g for g in (config.grade(f) for f in unused_findings(suppressions, used)) if g]
    return tuple(sorted(kept, key=lambda f: f.sort_key))


def deduplicate(findings: list[Finding]) -> list[Finding]:
    """One finding per (rule, file, line); a shadow failure where a static error already is goes."""
    static_errors = {
        (f.file, f.line) for f in findings if f.is_error and f.rule in BY_CODE and f.rule != "L004"
    }
    seen: set[tuple[str, str | None, int | None]] = set()
    result = []
    for finding in findings:
        key = (finding.rule, finding.file, finding.line)
        if key in seen or (
            finding.rule == "L004" and (finding.file, finding.line) in static_errors
        ):
            continue
        seen.add(key)
        result.append(finding)
    return result


def apply_suppressions(
    findings: list[Finding], suppressions: list[Suppression]
) -> tuple[list[Finding], set[Suppression]]:
    """Findings no suppression covers, and the suppressions that covered something."""
    by_file: dict[str | None, list[Suppression]] = {}
    for item in suppressions:
        by_file.setdefault(item.file, []).append(item)
    kept: list[Finding] = []
    used: set[Suppression] = set()
    for finding in findings:
        covering = [s for s in by_file.get(finding.file, ()) if s.covers(finding)]
        if covering and not finding.rule.startswith("Q"):
            used.update(covering)
        else:
            kept.append(finding)
    return kept, used
