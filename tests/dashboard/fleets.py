"""Fleets written as data for the fleet page tests: 2,000 members in every state, and
member names and errors that carry markup, template syntax and control characters."""

from __future__ import annotations

from typing import Any

from orchestrator.dashboard import Origin
from orchestrator.fleets.model import (
    FleetPlan,
    Member,
    MemberPlan,
    MemberResult,
    MemberState,
    Outcome,
)
from orchestrator.model import Migration, Problem, Severity
from orchestrator.reporting.fleet import status_to_dict
from orchestrator.reporting.fleet_page import render_fleet_page
from tests.dashboard.boards import NOW

HOSTILE_MEMBER = "<script>document.body.dataset.pwned='yes'</script>{{ 7*7 }}\x1b[31m\x00\"q'"
HOSTILE_ERROR = 'near "<img src=x onerror=alert(1)>": syntax error {% raw %}\x07'
STARTED = "2027-01-15T05:00:00Z"  # 3 h before NOW

MIGRATIONS = tuple(
    Migration(
        n, name, f"packages/tenant-db/migrations/{n:04d}_{name}.sql", "", "tenant-db", "c", ""
    )
    for n, name in ((1, "init"), (2, "notes"), (3, "name"))
)


def member_plan(index: int, version: str, name: str | None = None) -> MemberPlan:
    member = Member(f"{index:08x}-0000-4000-8000-000000000000", name or f"tenant-{index:05d}")
    pending = tuple(m for m in MIGRATIONS if m.name > version or version == "none")
    return MemberPlan(MemberState(member), version, pending)


def sample_fleet(
    members: int = 2000,
    failed: int = 70,
    drifted: int = 12,
    behind: int = 150,
    first_failed: str | None = None,
) -> tuple[dict[str, Any], FleetPlan, dict[str, Any]]:
    """``members`` members: ``behind`` at 0002 (pending), the rest at 0003; of those behind,
    the first ``failed`` failed in the last rollout (recorded) and the next ``drifted``
    drifted (found by this status read). The status dict is made by the real code."""
    plans = []
    for i in range(members):
        name = first_failed if i == 0 and first_failed is not None else None
        version = "0002_notes" if i < behind else "0003_name"
        plans.append(member_plan(i, version, name))
    problems = (
        Problem(
            Severity.WARNING, "fleet.missing", "tenant-gone is in ids_file but not in the account"
        ),
    )
    plan = FleetPlan("tenants", MIGRATIONS, tuple(plans), problems)
    record = {
        "started_at": STARTED,
        "stopped": f"{failed} failed or drifted after the canary (--max-failures 0)",
        "failed": {
            p.member.id: {
                "name": p.member.name,
                "outcome": "failed",
                "error": HOSTILE_ERROR if i == 0 else f"0002_notes.sql:1: disk I/O error on {i}",
            }
            for i, p in enumerate(plans[:failed])
        },
    }
    flagged = [
        MemberResult(
            p.member,
            Outcome.DRIFTED,
            p.version,
            error="drifted before the write: column users.by_hand is not in the migrations",
        )
        for p in plans[failed : failed + drifted]
    ]
    return status_to_dict(plan, record, flagged), plan, record


def origin(account: str | None = "acc-1234") -> Origin:
    return Origin(
        NOW,
        account,
        "0123456789abcdef0123",
        False,
        "https://github.com/acme/shop",
        "",
        "0.1.0",
    )


def fleet_page(remote: bool = True, **changes: Any) -> str:
    data, plan, record = sample_fleet(**changes)
    return render_fleet_page(data, plan, record, origin(), remote)
