"""Run the rules on small migration lists, without a workspace on disk."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.checks.config import LintConfig
from orchestrator.checks.engine import Unit, analyze_unit, finish
from orchestrator.checks.findings import Finding
from orchestrator.checks.parsed import ParsedMigration, parse_migration

SOURCE = "packages/app/migrations"
DATABASE = "app-db"
HEADER = """\
-- Migration: {number:04d} - Test migration
-- Created: 2025-01-01
-- Purpose: Exercise one rule.
--
-- Changes:
-- - see below
--
-- Verification:
-- SELECT name FROM sqlite_master;

"""


@dataclass(frozen=True)
class M:
    """One migration: its SQL, and optionally its file name and whether to add the header."""

    sql: str
    name: str | None = None
    header: bool = True


Spec = str | M


def parse_all(
    migrations: Sequence[Spec], database: str | None = DATABASE
) -> tuple[ParsedMigration, ...]:
    """Parse ``migrations`` as files ``0001_step_1.sql``, ``0002_step_2.sql`` … (or their names)."""
    parsed = []
    for number, spec in enumerate(migrations, 1):
        item = spec if isinstance(spec, M) else M(spec)
        name = item.name or f"{number:04d}_step_{number}.sql"
        body = textwrap.dedent(item.sql).strip() + "\n"
        sql = HEADER.format(number=number) + body if item.header else body
        parsed.append(parse_migration(f"{SOURCE}/{name}", sql, database))
    return tuple(parsed)


def run_rules(
    migrations: Sequence[Spec],
    measure: bool = True,
    config: LintConfig | None = None,
    database: str | None = DATABASE,
) -> list[Finding]:
    """Every finding after grading and suppression, as ``check`` (or ``lint``) reports them."""
    unit = Unit(database, parse_all(migrations, database))
    result = analyze_unit(unit, measure)
    return list(finish(result.findings, result.suppressions, config or LintConfig(), measure))


def codes(findings: Sequence[Finding]) -> set[str]:
    """The rule codes among ``findings``."""
    return {f.rule for f in findings}


def lines(findings: Sequence[Finding], code: str) -> list[int | None]:
    """Lines of the findings of rule ``code``."""
    return [f.line for f in findings if f.rule == code]


def header_lines() -> int:
    """How many lines the test header adds before a migration's body."""
    return HEADER.count("\n")
