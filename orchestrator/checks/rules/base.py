"""What a rule sees: one parsed migration (plus the shadow's view of it), or a whole database."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orchestrator.checks.catalog import rule
from orchestrator.checks.findings import Evidence, Finding
from orchestrator.checks.parsed import ParsedMigration
from orchestrator.checks.schema import SchemaSnapshot
from orchestrator.checks.shadow import Replay, StepReplay


@dataclass(frozen=True)
class Context:
    """One migration, and what the shadow replay saw while running it (if it ran)."""

    migration: ParsedMigration
    step: StepReplay | None = None

    def finding(
        self,
        code: str,
        line: int | None,
        message: str,
        subjects: Iterable[str] = (),
        evidence: Iterable[Evidence] = (),
        lines: Iterable[int] = (),
    ) -> Finding:
        """A finding of rule ``code`` in this migration, at its default severity, about
        ``subjects`` (table names) and, for a measuring rule, with its ``evidence``;
        ``lines`` when it stands for several statements."""
        parsed = self.migration
        about = tuple(sorted({s.lower() for s in subjects}))
        return Finding(
            code,
            rule(code).severity,
            message,
            parsed.file,
            line,
            parsed.database,
            about,
            tuple(evidence),
            tuple(lines),
        )

    def at(self, index: int) -> SchemaSnapshot | None:
        """The shadow schema just before statement ``index`` ran."""
        return self.step.at.get(index) if self.step else None

    @property
    def after(self) -> SchemaSnapshot | None:
        """The shadow schema after the migration ran."""
        return self.step.after if self.step else None


@dataclass(frozen=True)
class DatabaseContext:
    """Every migration of one database in apply order, and its replay."""

    database: str | None
    migrations: tuple[ParsedMigration, ...]
    replay: Replay | None = None


MigrationRule = Callable[[Context], Iterable[Finding]]
DatabaseRule = Callable[[DatabaseContext], Iterable[Finding]]
