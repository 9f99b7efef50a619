"""Frozen data of a fleet: its members, what each one's ledger says, the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from orchestrator.checks.schema import SchemaSnapshot
from orchestrator.model import Migration, Problem


@dataclass(frozen=True)
class Member:
    """One database of a fleet: its id (remote uuid, or local state file) and name."""

    id: str
    name: str


@dataclass(frozen=True)
class AppliedRow:
    """One ledger row of a member: canonical file name and checksum."""

    filename: str
    checksum: str | None = None


@dataclass(frozen=True)
class MemberState:
    """What one read of a member returned (or why it could not be read)."""

    member: Member
    applied: tuple[AppliedRow, ...] = ()
    schema: SchemaSnapshot | None = None
    fingerprint: str = ""
    last_rollout: str | None = None
    error: str | None = None
    rollouts: tuple[str, ...] = ()  # start times of the rollouts that wrote it, newest first


class Outcome(StrEnum):
    """How a member ended in a run."""

    UP_TO_DATE = "up-to-date"
    APPLIED = "applied"
    FAILED = "failed"
    DRIFTED = "drifted"
    REFUSED = "refused"
    SKIPPED = "skipped"
    PLANNED = "planned"


@dataclass(frozen=True)
class MemberPlan:
    """One member's pending migrations in order, or why it must not be touched."""

    state: MemberState
    version: str
    pending: tuple[Migration, ...] = ()
    refusal: str | None = None

    @property
    def member(self) -> Member:
        return self.state.member


@dataclass(frozen=True)
class MemberResult:
    """The end of one member in a run; ``requests`` counts its API calls."""

    member: Member
    outcome: Outcome
    version: str
    applied: tuple[str, ...] = ()
    error: str | None = None
    drift: tuple[str, ...] = ()
    requests: int = 0

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.DRIFTED, Outcome.REFUSED)


@dataclass(frozen=True)
class Stage:
    """Members written together: the canary, then waves."""

    label: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class FleetPlan:
    """A fleet as read: members, their versions, what is pending, problems."""

    fleet: str
    migrations: tuple[Migration, ...]
    members: tuple[MemberPlan, ...]
    problems: tuple[Problem, ...] = ()
    shard: tuple[int, int] | None = None

    def histogram(self) -> dict[str, int]:
        """Members per version (the last applied migration), oldest version first."""
        counts: dict[str, int] = {}
        for plan in self.members:
            counts[plan.version] = counts.get(plan.version, 0) + 1
        return dict(sorted(counts.items()))

    def pending_files(self) -> dict[str, int]:
        """How many members each pending file is pending on, in apply order."""
        counts = {m.file: 0 for m in self.migrations}
        for plan in self.members:
            for migration in plan.pending:
                counts[migration.file] += 1
        return {file: n for file, n in counts.items() if n}

    @property
    def last_rollout(self) -> str | None:
        """The newest rollout start any member records."""
        return max(
            (p.state.last_rollout for p in self.members if p.state.last_rollout), default=None
        )

    @property
    def with_pending(self) -> tuple[MemberPlan, ...]:
        return tuple(p for p in self.members if p.pending and p.refusal is None)


@dataclass(frozen=True)
class RolloutReport:
    """A fleet run: every member's result, where it stopped, what it cost."""

    fleet: str
    started_at: str
    results: tuple[MemberResult, ...]
    stages: tuple[str, ...] = ()
    stopped: str | None = None
    requests: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return self.stopped is None and not any(r.failed for r in self.results)
