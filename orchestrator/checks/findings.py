"""Findings and the rule metadata they point to: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.model import Severity


@dataclass(frozen=True)
class Rule:
    """A check with a stable code (``I001``) and slug (``idempotency/create-if-not-exists``)."""

    code: str
    slug: str
    severity: Severity
    summary: str
    fix: str
    convention: bool = False
    # A measured rule names the static rules it confirms: where both stand on one line
    # about the same tables, they are one finding under the static code (see merge.py).
    confirms: tuple[str, ...] = ()

    def severity_in(self, profile: str) -> Severity:
        """The rule's severity under a profile: ``strict`` raises conventions to errors."""
        return Severity.ERROR if profile == "strict" and self.convention else self.severity

    @property
    def family(self) -> str:
        """The slug's first part: ``naming``, ``idempotency``, ``d1`` …"""
        return self.slug.split("/", 1)[0]


@dataclass(frozen=True)
class Evidence:
    """One measured fact behind a finding: what happened to ``subject`` (a table, lower case)."""

    subject: str
    text: str


@dataclass(frozen=True)
class Finding:
    """One thing a rule found, at ``file:line`` (paths relative to the workspace root).

    ``subjects``: the tables the finding is about (lower case), where a rule names them;
    ``evidence``: what a measuring rule saw, one entry per table;
    ``lines``: where one finding stands for several statements (I003 over a seed's rows),
    the line of each, ``line`` being the first (empty otherwise).
    """

    rule: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    database: str | None = None
    subjects: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    lines: tuple[int, ...] = ()

    @property
    def is_error(self) -> bool:
        """True for severity error."""
        return self.severity is Severity.ERROR

    @property
    def sort_key(self) -> tuple[str, int, str, str]:
        """Order of reports: by file, line, then rule."""
        return (self.file or "", self.line or 0, self.rule, self.message)
