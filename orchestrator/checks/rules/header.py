"""Documentation header rules H001–H002: the fields the strategy document requires.

Only the comments before the first statement count as the header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.rules.base import Context

REQUIRED = ("Migration", "Created", "Purpose", "Changes", "Verification")
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,30}?)\s*:(.*)$")
_QUERY = re.compile(r"^\s*(?:[-*•]\s*)?(SELECT|PRAGMA|WITH)\b", re.I)


def header_fields(lines: tuple[str, ...]) -> dict[str, str]:
    """``{field (lower case): rest of its line}`` for each ``Field:`` line."""
    fields: dict[str, str] = {}
    for line in lines:
        match = _FIELD.match(line)
        if match:
            fields.setdefault(match.group(1).strip().lower(), match.group(2).strip())
    return fields


def check_header_fields(ctx: Context) -> Iterator[Finding]:
    """H001: a required header field is missing."""
    fields = header_fields(ctx.migration.header)
    missing = [name for name in REQUIRED if name.lower() not in fields]
    if missing:
        yield ctx.finding(
            "H001",
            1,
            f"header lacks {', '.join(missing)}; start the file with "
            "-- Migration: NNNN - Title / -- Created: date / -- Purpose: why / "
            "-- Changes: list / -- Verification: a query",
        )


def check_verification_query(ctx: Context) -> Iterator[Finding]:
    """H002: the Verification field is there but holds no query."""
    lines = ctx.migration.header
    if "verification" not in header_fields(lines):
        return  # H001 already names the missing field
    start = next(i for i, line in enumerate(lines) if _field_name(line) == "verification")
    rest = [lines[start].split(":", 1)[1], *lines[start + 1 :]]
    if not any(_QUERY.match(line) for line in rest):
        yield ctx.finding(
            "H002",
            1,
            "no verification query under -- Verification:; add one, e.g. "
            "-- SELECT name FROM sqlite_master WHERE type='table' AND name='…';",
        )


def _field_name(line: str) -> str | None:
    match = _FIELD.match(line)
    return match.group(1).strip().lower() if match else None
