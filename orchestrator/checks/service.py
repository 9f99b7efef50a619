"""The library entry points behind ``orchestrate lint`` and ``orchestrate check``.

Both are read-only: they read the workspace and replay on in-memory databases.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.checks.catalog import rule
from orchestrator.checks.config import LintConfig, parse_lint_config
from orchestrator.checks.engine import UnitResult, analyze_units, finish
from orchestrator.checks.findings import Finding
from orchestrator.checks.generated import generated_files
from orchestrator.checks.inputs import is_under, loose_units, plan_units, relative_paths
from orchestrator.checks.rules.naming import NO_NUMBER
from orchestrator.discovery.selection import display_root, load_every_env, load_workspace
from orchestrator.model import Plan, Problem, Severity
from orchestrator.planning import build_plan
from orchestrator.settings import Settings

# Plan problems that lint rules report per file instead (N001, N003).
_REPLACED = frozenset(
    {"naming.duplicate", "naming.shared-number", "naming.short-prefix", "naming.unnumbered"}
)


@dataclass(frozen=True)
class ReplaySummary:
    """How far the shadow replay of one database got."""

    database: str | None
    migrations: int
    replayed: int
    stopped_at: str | None = None


@dataclass(frozen=True)
class LintReport:
    """Findings in report order, the text of each file they point into, and replay summaries."""

    root: str
    findings: tuple[Finding, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    replays: tuple[ReplaySummary, ...] = ()
    files: int = 0

    @property
    def has_errors(self) -> bool:
        """True when any finding is an error (exit 1)."""
        return any(f.is_error for f in self.findings)

    def counts(self) -> dict[str, int]:
        """Findings per severity, every severity present."""
        return {s.value: sum(1 for f in self.findings if f.severity is s) for s in Severity}


def load_lint_config(settings: Settings) -> LintConfig:
    """The validated ``[lint]`` table (ConfigError, exit 2, when it is wrong)."""
    return parse_lint_config(settings.lint, settings.config_file)


def lint_workspace(
    settings: Settings,
    env: str | None = None,
    names: tuple[str, ...] = (),
    paths: Iterable[Path] = (),
) -> LintReport:
    """Static rules (with the shadow schema as context) over the workspace or ``paths``."""
    config = load_lint_config(settings)
    selected = relative_paths(settings.root, paths)
    plan = _plan(settings, env, names)
    units = plan_units(plan, selected)
    if selected:
        known = {step.migration.file for db in plan.databases for step in db.steps}
        units += loose_units(settings.root, selected, known)
    results = analyze_units(units, False, workers(settings))
    raw = [f for r in results for f in r.findings] + _no_number(plan.all_problems)
    findings = [f for f in raw if f.file is not None and is_under(f.file, selected)]
    return _report(settings, plan.root, results, findings, config, report_unused=False)


def check_workspace(
    settings: Settings, env: str | None = None, names: tuple[str, ...] = ()
) -> LintReport:
    """The CI gate: plan problems, every rule, and the measured shadow replay of every database."""
    config = load_lint_config(settings)
    plan = _plan(settings, env, names)
    results = analyze_units(plan_units(plan, ()), True, workers(settings))
    findings = [f for r in results for f in r.findings] + problem_findings(plan.all_problems)
    return _report(settings, plan.root, results, findings, config, report_unused=True)


def workers(settings: Settings) -> int:
    """Processes for the analysis: the CPUs, capped by ``concurrency``."""
    return max(1, min(settings.concurrency, os.cpu_count() or 1))


def _plan(settings: Settings, env: str | None, names: tuple[str, ...]) -> Plan:
    # Without --env, every environment's migrations (static checks need no target).
    workspace = load_workspace(settings, env, names) if env else load_every_env(settings, names)
    return build_plan(workspace, root=display_root(settings))


def _report(
    settings: Settings,
    root: str,
    results: list[UnitResult],
    findings: list[Finding],
    config: LintConfig,
    report_unused: bool,
) -> LintReport:
    suppressions = [s for r in results for s in r.suppressions]
    sources = {m.file: m.sql for r in results for m in r.unit.migrations}
    generated = generated_files(sources, settings.root)
    final = finish(findings, suppressions, config, report_unused, generated)
    replays = tuple(_summary(r) for r in results)
    return LintReport(root, final, sources, replays, len(sources))


def _summary(result: UnitResult) -> ReplaySummary:
    stopped = result.stopped
    where = f"{stopped.file}:{stopped.line}" if stopped else None
    unit = result.unit
    return ReplaySummary(unit.database, len(unit.migrations), result.replayed, where)


def problem_findings(problems: Iterable[Problem]) -> list[Finding]:
    """Plan problems as findings (rule = problem code), minus those lint rules report per file."""
    found = []
    for problem in problems:
        if problem.code == "naming.no-number":
            found.extend(_no_number([problem]))
        elif problem.code not in _REPLACED:
            found.append(
                Finding(
                    problem.code,
                    problem.severity,
                    problem.message,
                    problem.file,
                    problem.line,
                    problem.database,
                )
            )
    return found


def _no_number(problems: Iterable[Problem]) -> list[Finding]:
    """Plan problems lint must report too: files with no number, and files it cannot read."""
    found = []
    for p in problems:
        if p.code == "naming.no-number":
            found.append(Finding("N002", rule("N002").severity, NO_NUMBER, p.file, 1, p.database))
        elif (
            p.code.startswith("source.") and p.is_error
        ):  # not UTF-8, unreadable: never skip silently
            found.append(Finding(p.code, p.severity, p.message, p.file, p.line, p.database))
    return found
