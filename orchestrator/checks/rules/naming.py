"""Naming rules N001–N004: ``NNNN_lowercase_description.sql``, one number per migration.

N002 (no numeric prefix) comes from discovery, which never turns such a file into
a migration; ``engine`` converts its problem into the finding.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.rules.base import Context, DatabaseContext
from orchestrator.discovery.naming import is_snake_case

NO_NUMBER = (
    "no numeric prefix: wrangler applies it after every numbered file; "
    "rename to NNNN_description.sql"
)


def check_prefix(ctx: Context) -> Iterator[Finding]:
    """N001: the number is not written with exactly 4 digits (N002: there is none)."""
    name = ctx.migration.name
    if name is None:
        yield ctx.finding("N002", 1, NO_NUMBER)
        return
    if name.digits == 4:
        return
    canonical = f"{name.canonical}.sql"
    yield ctx.finding(
        "N001",
        1,
        f"{name.digits}-digit prefix; rename to {canonical} (`orchestrate normalize` will)",
    )


def check_snake_case(ctx: Context) -> Iterator[Finding]:
    """N004: the description is not lowercase snake case."""
    name = ctx.migration.name
    if name is None or is_snake_case(name.description):
        return
    suggestion = snake_case(name.description)
    yield ctx.finding(
        "N004",
        1,
        f"description {name.description!r} is not lowercase snake case; "
        f"rename to {name.number:04d}_{suggestion}.sql",
    )


def snake_case(description: str) -> str:
    """``AddUser-Plugins`` -> ``add_user_plugins`` (a file name, not SQL)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", description)
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_") or "describe_it"


def check_duplicate_numbers(ctx: DatabaseContext) -> Iterator[Finding]:
    """N003: two migrations of one database share a number."""
    by_number: dict[int, list[ParsedMigration]] = defaultdict(list)
    for parsed in ctx.migrations:
        if parsed.name is not None:
            by_number[parsed.name.number].append(parsed)
    for number, group in sorted(by_number.items()):
        for later in group[1:]:
            others = ", ".join(p.file for p in group if p is not later)
            where = f" in {ctx.database}" if ctx.database else ""
            yield Context(later).finding(
                "N003",
                1,
                f"number {number:04d} is also used{where} by {others}; the apply order between "
                "them is a guess — renumber this migration",
            )
