"""Inline suppressions: ``-- orchestrate: ignore[CODE, …] reason``.

Only comment tokens are read, so the marker inside a string literal does nothing.
A comment on a statement's lines, or on its own lines just above a statement,
covers that whole statement; ``ignore-file[…]`` covers the whole file. A
suppression without a reason still applies, but is itself a warning (Q001).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.checks.catalog import resolve, rule
from orchestrator.checks.findings import Finding
from orchestrator.sqltext import Kind, Statement, tokenize

_MARK = re.compile(
    r"orchestrate:\s*ignore(?P<file>-file)?\[(?P<codes>[^\]]*)\](?P<reason>.*)", re.S
)
WHOLE_FILE = (1, 10**9)


@dataclass(frozen=True)
class Suppression:
    """One suppression comment and the lines it covers."""

    file: str
    line: int
    codes: frozenset[str]
    written: tuple[str, ...]
    reason: str
    first: int
    last: int
    database: str | None = None

    def covers(self, finding: Finding) -> bool:
        """True when this comment silences ``finding``."""
        if finding.file != self.file or finding.rule not in self.codes:
            return False
        return self.first <= (finding.line or 1) <= self.last


def parse_suppressions(
    file: str, sql: str, statements: Iterable[Statement], database: str | None = None
) -> tuple[Suppression, ...]:
    """Every suppression comment of one file, with the lines each covers."""
    if "orchestrate:" not in sql:  # most files have none; skip tokenizing them again
        return ()
    spans = [(s.line, s.line + s.text.count("\n")) for s in statements]
    found: list[Suppression] = []
    for token in tokenize(sql):
        if token.kind is not Kind.COMMENT:
            continue
        match = _MARK.search(token.text)
        if match is None:
            continue
        written = tuple(c.strip() for c in match.group("codes").split(",") if c.strip())
        codes = frozenset(code for name in written for code in resolve(name))
        first, last = WHOLE_FILE if match.group("file") else _span(token.line, spans)
        found.append(
            Suppression(
                file,
                token.line,
                codes,
                written,
                _reason(match.group("reason")),
                first,
                last,
                database,
            )
        )
    return tuple(found)


def _span(line: int, spans: list[tuple[int, int]]) -> tuple[int, int]:
    for first, last in spans:
        if first <= line <= last or line < first:
            return first, last
    return line, line


def _reason(text: str) -> str:
    return text.strip().removesuffix("*/").strip(" \t-:—")


def suppression_findings(suppressions: Iterable[Suppression]) -> list[Finding]:
    """Q001 for a missing reason, Q002 for a name that is no rule."""
    findings = []
    for item in suppressions:
        if not item.reason:
            message = "suppression without a reason; say why it is safe after the ]"
            findings.append(Finding("Q001", rule("Q001").severity, message, item.file, item.line))
        for name in item.written:
            if not resolve(name):
                message = f"suppression names {name!r}, which is no rule; see docs/lint-rules.md"
                findings.append(
                    Finding("Q002", rule("Q002").severity, message, item.file, item.line)
                )
    return findings


def unused_findings(suppressions: Iterable[Suppression], used: set[Suppression]) -> list[Finding]:
    """Q003 for each suppression that silenced nothing."""
    return [
        Finding(
            "Q003",
            rule("Q003").severity,
            f"suppression of {', '.join(s.written)} matches no finding; remove it",
            s.file,
            s.line,
            s.database,
        )
        for s in suppressions
        if s not in used and s.codes
    ]


def stand_in(item: Suppression, code: str) -> Finding:
    """A finding of ``code`` where ``item`` is, to ask the config whether the rule runs there."""
    return Finding(code, rule(code).severity, "", item.file, item.line, item.database)
