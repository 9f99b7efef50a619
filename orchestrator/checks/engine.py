"""Run the rules: replay each database, apply every rule, then grade, deduplicate
and suppress the findings. Pure apart from the in-memory shadow databases."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

from orchestrator.checks.config import LintConfig
from orchestrator.checks.findings import Finding
from orchestrator.checks.merge import merge_measured
from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.rules import (
    DATABASE_RULES,
    MIGRATION_RULES,
    Context,
    DatabaseContext,
    needs_second_run,
    wants_after,
    watch,
)
from orchestrator.checks.shadow import Failure, ReplayOptions, as_parsed, replay
from orchestrator.checks.suppress import (
    Suppression,
    stand_in,
    suppression_findings,
    unused_findings,
)
from orchestrator.model import Migration


@dataclass(frozen=True)
class Unit:
    """Migrations analysed together, in apply order: one database, or loose files."""

    database: str | None
    migrations: tuple[Migration | ParsedMigration, ...]


@dataclass(frozen=True)
class UnitResult:
    """Raw findings of one unit, its suppressions, and how far its replay got.

    Parsed statements are not kept: on a large workspace they would hold millions
    of tokens alive for nothing.
    """

    unit: Unit
    findings: tuple[Finding, ...]
    suppressions: tuple[Suppression, ...]
    replayed: int
    stopped: Failure | None


def replay_options(measure: bool) -> ReplayOptions:
    """The lint replay (schema context only) or the check replay (second run and probe too)."""
    return ReplayOptions(
        rerun=measure,
        rerun_needed=needs_second_run,
        probe=measure,
        watch=watch,
        after=wants_after,
        final=True,
    )


def analyze_unit(unit: Unit, measure: bool) -> UnitResult:
    """Parse and replay one unit and run every rule over it."""
    parsed = tuple(as_parsed(m, unit.database) for m in unit.migrations)
    result = replay(parsed, replay_options(measure))
    findings: list[Finding] = []
    for migration in parsed:
        context = Context(migration, result.step(migration.file))
        for check in MIGRATION_RULES:
            findings.extend(check(context))
    database = DatabaseContext(unit.database, parsed, result)
    for check_database in DATABASE_RULES:
        findings.extend(check_database(database))
    suppressions = tuple(s for m in parsed for s in m.suppressions)
    return UnitResult(unit, tuple(findings), suppressions, len(result.steps), result.stopped)


# Below this many migrations, starting worker processes costs more than it saves.
PARALLEL_FROM = 500
_shared: tuple[tuple[Unit, ...], bool] = ((), False)


def analyze_units(
    units: Sequence[Unit], measure: bool, workers: int = 1, threshold: int = PARALLEL_FROM
) -> list[UnitResult]:
    """Analyse every unit, in order; large workspaces use ``workers`` forked processes.

    Databases are independent, so each worker takes whole units. Workers inherit
    the units through ``fork`` and send back only findings and suppressions.
    """
    size = sum(len(u.migrations) for u in units)
    if workers < 2 or len(units) < 2 or size < threshold or not _can_fork():
        return [analyze_unit(u, measure) for u in units]
    context = multiprocessing.get_context("fork")
    chunk = max(1, len(units) // (workers * 4))
    pool = ProcessPoolExecutor(workers, context, _adopt, (tuple(units), measure))
    try:
        parts = list(pool.map(_analyze_shared, range(len(units)), chunksize=chunk))
    except BaseException:
        # Ctrl-C: drop the queued databases instead of finishing them all.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return [UnitResult(units[i], *part) for i, part in enumerate(parts)]


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _adopt(units: tuple[Unit, ...], measure: bool) -> None:
    global _shared
    _shared = (units, measure)
    # The parent decides what Ctrl-C means; workers just finish their current database.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _analyze_shared(
    index: int,
) -> tuple[tuple[Finding, ...], tuple[Suppression, ...], int, Failure | None]:
    units, measure = _shared
    result = analyze_unit(units[index], measure)
    return result.findings, result.suppressions, result.replayed, result.stopped


def finish(
    findings: Iterable[Finding],
    suppressions: Sequence[Suppression],
    config: LintConfig,
    report_unused: bool,
    generated: frozenset[str] = frozenset(),
) -> tuple[Finding, ...]:
    """Add suppression findings, drop duplicates, apply ``[lint]`` and inline suppressions,
    fold measurements into the static findings they confirm (``merge``) and per-directory
    naming findings, sort. ``generated``: files drizzle-kit or prisma wrote."""

    def grade(finding: Finding) -> Finding | None:
        return config.grade(finding, finding.file in generated)

    everything = deduplicate([*findings, *suppression_findings(suppressions)])
    graded = [g for g in (grade(f) for f in everything) if g is not None]
    kept, used = apply_suppressions(graded, suppressions)
    if report_unused:
        # A suppression of rules the config switched off is not stale, just idle.
        live = [s for s in suppressions if any(grade(stand_in(s, c)) for c in s.codes)]
        kept += [g for g in (grade(f) for f in unused_findings(live, used)) if g]
    return tuple(sorted(fold_directories(merge_measured(kept)), key=lambda f: f.sort_key))


# Statements a static rule already predicts SQLite refuses: the shadow failure adds nothing.
_PREDICTS_FAILURE = frozenset({"L001", "L002", "L003", "D007"})
# A measured second-run failure (I005) where a static idempotency finding already is.
_IDEMPOTENCY = frozenset({"I001", "I002", "I003", "I004"})


def deduplicate(findings: list[Finding]) -> list[Finding]:
    """One finding per problem: per (rule, file, line, tables it names), a finding that
    stands for several statements (``lines``) taking in the same rule's findings on any of
    them; the shadow's first-run failure (L004) only where no static rule predicts that very
    refusal; the measured second run (I005) only where no static idempotency rule stands on
    the same line. (A measured data loss and the static cascade it confirms are merged
    later, after suppressions: ``merge.merge_measured``.)"""
    at_line: dict[tuple[str | None, int | None], set[str]] = {}
    spans: dict[tuple[str, str | None, tuple[str, ...]], set[int]] = {}
    for finding in findings:
        for line in finding.lines or (finding.line,):
            at_line.setdefault((finding.file, line), set()).add(finding.rule)
        if finding.lines:
            spans.setdefault((finding.rule, finding.file, finding.subjects), set()).update(
                finding.lines
            )
    seen: set[tuple[str, str | None, int | None, tuple[str, ...], tuple[int, ...]]] = set()
    result = []
    for finding in findings:
        # Two several-statement findings may start on one line (two tables' seeds): their
        # lines tell them apart.
        key = (finding.rule, finding.file, finding.line, finding.subjects, finding.lines)
        others = at_line[(finding.file, finding.line)]
        if key in seen or _covered(finding.rule, others) or _within(finding, spans):
            continue
        seen.add(key)
        result.append(finding)
    return result


def _within(
    finding: Finding, spans: dict[tuple[str, str | None, tuple[str, ...]], set[int]]
) -> bool:
    """A one-statement finding on a line that a several-statement finding of its rule covers."""
    if finding.lines or not spans:
        return False
    return finding.line in spans.get((finding.rule, finding.file, finding.subjects), ())


def _covered(rule: str, others: set[str]) -> bool:
    if rule == "L004":
        return bool(others & _PREDICTS_FAILURE)
    return rule == "I005" and bool(others & _IDEMPOTENCY)


# Per-file rules that, when a whole directory shares the habit, are one finding there.
FOLDED = frozenset({"N001", "N004"})


def fold_directories(findings: list[Finding]) -> list[Finding]:
    """N001/N004 on several files of one directory: one finding there, with the count."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        if finding.rule in FOLDED and finding.file:
            folder = finding.file.rpartition("/")[0]
            groups.setdefault((finding.rule, folder, finding.severity.value), []).append(finding)
    folded = {id(f) for group in groups.values() if len(group) > 1 for f in group}
    result = [f for f in findings if id(f) not in folded]
    for (_, folder, _), group in groups.items():
        if len(group) > 1:
            first = min(group, key=lambda f: f.sort_key)
            message = (
                f"{len(group)} files in {folder or '.'}/ (first: {first.file}): {first.message}"
            )
            result.append(replace(first, message=message))
    return result


def apply_suppressions(
    findings: list[Finding], suppressions: Sequence[Suppression]
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
