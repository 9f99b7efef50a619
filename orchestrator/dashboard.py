"""The release manager's dashboard, as data: where each database stands, what
this release will change, and what needs attention first. Pure: built from a
plan, the ledger states it was read from, and lint counts."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from orchestrator.engines.ledger import LedgerState
from orchestrator.model import DatabasePlan, Plan, Problem, Severity, Status

NEXT_SHOWN = 3

if TYPE_CHECKING:
    from orchestrator.checks.findings import Finding  # the checks load only when a command lints


class Urgency(IntEnum):
    """How soon a database needs a person; lower sorts first.

    A pending migration that ``check`` says fails or loses data on D1 comes first: the
    next ``apply`` would run it. A changed or broken ledger only stops the next apply.
    """

    LINT_ERRORS = 0
    CHANGED = 1
    BROKEN = 2
    LOCKED = 3
    DRIFT = 4
    OUT_OF_ORDER = 5
    PENDING = 6
    WARNINGS = 7
    FINE = 8


@dataclass(frozen=True)
class LintCounts:
    """Lint findings in a database's pending migrations: the counts, and the findings
    themselves (errors first) for the pages that list them."""

    errors: int = 0
    warnings: int = 0
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class DriftRecord:
    """The last ``verify`` of one database that still matches its ledger."""

    count: int
    differences: tuple[str, ...] = ()
    checked_at: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where and when a dashboard was made: the page's header says it."""

    generated_at: float
    account: str | None = None
    commit: str | None = None
    dirty: bool = False
    web_url: str | None = None
    git_prefix: str = ""
    version: str = ""


@dataclass(frozen=True)
class DatabaseStatus:
    """One row of the dashboard."""

    name: str
    id: str
    bindings: tuple[str, ...]
    applied: int
    pending: int
    next_pending: tuple[str, ...]
    changed: tuple[str, ...]
    last_applied: str | None
    last_applied_at: str | None
    lint: LintCounts
    lock: str | None
    bookmark: str | None
    drift: int | None
    problems: tuple[Problem, ...]
    urgency: Urgency
    attention: str | None
    drift_detail: DriftRecord | None = None

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.WARNING)


@dataclass(frozen=True)
class Dashboard:
    """Every database, the most urgent first, with the headline."""

    target: str
    env: str | None
    databases: tuple[DatabaseStatus, ...]
    problems: tuple[Problem, ...]
    headline: str
    attention: str | None
    origin: Origin | None = None

    @property
    def pending(self) -> int:
        return sum(d.pending for d in self.databases)

    @property
    def changed(self) -> int:
        return sum(len(d.changed) for d in self.databases)

    @property
    def errors(self) -> int:
        """Problems of severity error, in the workspace and in every database."""
        nested = sum(row.errors for row in self.databases)
        return nested + sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def dirty(self) -> bool:
        """Anything pending, changed or broken: ``status --exit-code`` fails on it."""
        return self.pending > 0 or self.changed > 0 or self.errors > 0


def build_dashboard(
    plan: Plan,
    states: Mapping[str, LedgerState],
    lint: Mapping[str, LintCounts] | None = None,
    drift: Mapping[str, DriftRecord] | None = None,
    now: float | None = None,
    origin: Origin | None = None,
) -> Dashboard:
    """Assemble the dashboard; databases sort by urgency, then name."""
    lint = lint or {}
    drift = drift or {}
    rows = [
        database_status(
            db,
            states.get(db.database.key),
            lint.get(db.database.name, LintCounts()),
            drift.get(db.database.name),
            now,
        )
        for db in plan.databases
    ]
    rows.sort(key=lambda r: (r.urgency, r.name))
    first = next((r for r in rows if r.attention), None)
    attention = f"{first.name}: {first.attention}" if first else None
    return Dashboard(
        plan.target,
        plan.env,
        tuple(rows),
        plan.problems,
        _headline(rows, attention),
        attention,
        origin,
    )


def database_status(
    db: DatabasePlan,
    state: LedgerState | None,
    lint: LintCounts,
    drift: DriftRecord | None,
    now: float | None = None,
) -> DatabaseStatus:
    """One database's row."""
    steps = db.steps
    applied = [s for s in steps if s.status is not Status.PENDING]
    last = (
        applied[-1] if applied else None
    )  # the latest in apply order (timestamps tie within a second)
    lock = _lock_text(state, now)
    changed = tuple(s.migration.file for s in db.changed)
    count = drift.count if drift is not None else None
    urgency, attention = _attention(db, lint, lock, changed, count)
    return DatabaseStatus(
        name=db.database.name,
        id=db.database.id,
        bindings=tuple(
            f"{b.package} {b.binding}" + (f" [env {b.env}]" if b.env else "")
            for b in db.database.bindings
        ),
        applied=len(applied),
        pending=len(db.pending),
        next_pending=tuple(s.migration.file for s in db.pending[:NEXT_SHOWN]),
        changed=changed,
        last_applied=last.migration.name if last else None,
        last_applied_at=last.applied_at if last else None,
        lint=lint,
        lock=lock,
        bookmark=_last_bookmark(state),
        drift=count,
        drift_detail=drift,
        problems=tuple(sorted(db.problems, key=lambda p: _SEVERITY_ORDER[p.severity])),
        urgency=urgency,
        attention=attention,
    )


_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _attention(
    db: DatabasePlan,
    lint: LintCounts,
    lock: str | None,
    changed: tuple[str, ...],
    drift: int | None,
) -> tuple[Urgency, str | None]:
    errors = [p for p in db.problems if p.is_error and p.code != "ledger.changed"]
    late = [s for s in db.pending if s.out_of_order]
    checks: list[tuple[bool, Urgency, str]] = [
        (
            bool(changed),
            Urgency.CHANGED,
            f"{changed[0] if changed else ''} changed after it was applied",
        ),
        (bool(errors), Urgency.BROKEN, errors[0].message if errors else ""),
        (lock is not None, Urgency.LOCKED, f"locked: {lock}"),
        (lint.errors > 0, Urgency.LINT_ERRORS, _lint_attention(lint)),
        (bool(drift), Urgency.DRIFT, f"schema drift: {drift} difference(s)"),
        (
            bool(late),
            Urgency.OUT_OF_ORDER,
            _late_text(db, late[0].migration.name, late[0].migration.file) if late else "",
        ),
        (bool(db.pending), Urgency.PENDING, f"{len(db.pending)} pending"),
        (any(p.severity is Severity.WARNING for p in db.problems), Urgency.WARNINGS, "warnings"),
    ]
    for hit, urgency, message in checks:
        if hit:
            return urgency, (message if urgency < Urgency.PENDING else None)
    return Urgency.FINE, None


def _lint_attention(lint: LintCounts) -> str:
    errors = [f for f in lint.findings if f.is_error]
    if not errors:
        return f"{lint.errors} lint error(s) in pending migrations"
    first = errors[0]
    where = f"{first.file}:{first.line}" if first.file and first.line else first.file or "?"
    return f"{len(errors)} lint error(s) in pending migrations, first {first.rule} at {where}"


def _late_text(db: DatabasePlan, name: str, file: str) -> str:
    """Out of order, or only missing from the local copies that are behind (named)."""
    behind = [c.package for c in db.copies if name in c.missing]
    if behind and len(behind) < len(db.copies):
        return f"the local copy in {', '.join(behind)} lacks {file}, applied in another copy"
    return f"{file} is out of order"


def _lock_text(state: LedgerState | None, now: float | None) -> str | None:
    if state is None or state.lock is None:
        return None
    lock = state.lock
    stale = " (expired)" if lock.expired(now if now is not None else time.time()) else ""
    return f"{lock.owner} on {lock.host} pid {lock.pid} since {lock.acquired_at} UTC{stale}"


def _last_bookmark(state: LedgerState | None) -> str | None:
    if state is None:
        return None
    marked = [r for r in state.own if r.bookmark]
    return max(marked, key=lambda r: r.applied_at or "").bookmark if marked else None


def _headline(rows: list[DatabaseStatus], attention: str | None) -> str:
    applied = sum(r.applied for r in rows)
    pending = sum(r.pending for r in rows)
    changed = sum(len(r.changed) for r in rows)
    parts = [f"{len(rows)} databases", f"{applied} applied", f"{pending} pending"]
    if changed:
        parts.append(f"{changed} changed")
    text = " · ".join(parts)
    if attention:
        return f"{text} — first: {attention}"
    return f"{text} — all up to date" if not pending else f"{text} — ready to apply"
