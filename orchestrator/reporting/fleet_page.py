"""``status --fleet NAME --format html``: the page of one fleet, at 20 or 20,000 members.

It is the dashboard's kind of page (``templates/fleet.html.j2`` extends the dashboard's
``base.html.j2`` and uses its macros; autoescaping on), fed from what ``status --fleet``
already returns: the JSON status dict, the plan (each member's version and pending
migrations) and the last rollout's record. Every member stands in one state, the worst
that applies: failed (or refused), drifted, pending, up to date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.commandline import fleet_undo_command, shell_command
from orchestrator.dashboard import Origin
from orchestrator.discovery.gitinfo import GitInfo
from orchestrator.fleets.model import FleetPlan, Outcome
from orchestrator.reporting.page import (
    Item,
    Link,
    commit_link,
    iso,
    parse_utc,
    relative_time,
    template,
    utc_text,
)

SHOWN = 50  # failed and drifted members listed on the page; --format json lists them all

# state -> (level of its colour, rank: most severe first)
STATES = {
    "failed": ("danger", 0),
    "drifted": ("warn", 1),
    "pending": ("ready", 2),
    "up to date": ("ok", 3),
}
_FAILED = {str(Outcome.FAILED), str(Outcome.REFUSED)}


@dataclass(frozen=True)
class Segment:
    """Part of a version's bar: the members at that version in one state."""

    state: str
    level: str
    count: int
    share: str  # of the bar, as CSS takes it: ``62.5%``


@dataclass(frozen=True)
class Bar:
    """One version of the histogram."""

    version: str
    count: int
    width: str  # of the widest bar
    segments: tuple[Segment, ...]
    current: bool  # the newest migration of the set


def member_states(plan: FleetPlan, failed: list[dict[str, Any]]) -> dict[str, str]:
    """Each member's state by id: the failed rows of the status first, then the plan."""
    flagged = {
        str(row["id"]): "drifted" if row.get("outcome") == str(Outcome.DRIFTED) else "failed"
        for row in failed
    }
    return {
        p.member.id: flagged.get(p.member.id) or ("pending" if p.pending else "up to date")
        for p in plan.members
    }


def render_fleet_page(
    data: dict[str, Any],
    plan: FleetPlan,
    record: dict[str, Any],
    origin: Origin,
    remote: bool,
) -> str:
    """The whole page as one string (the dashboard's styles and script inline)."""
    now = origin.generated_at
    states = member_states(plan, data["failed"])
    totals = {state: 0 for state in STATES}
    for state in states.values():
        totals[state] += 1
    flagged = sorted(
        data["failed"],
        key=lambda r: (0 if r.get("outcome") in _FAILED else 1, str(r["name"]), str(r["id"])),
    )
    started = data["last_rollout_started_at"]
    started_at = parse_utc(started)
    git = GitInfo(origin.commit, origin.dirty, origin.web_url, origin.git_prefix)
    target = "remote" if remote else "local"
    shard = f"shard {data['shard'][0]}/{data['shard'][1]}" if data.get("shard") else None
    return template("fleet.html.j2").render(
        data=data,
        origin=origin,
        target=target,
        shard=shard,
        generated=iso(now),
        generated_text=utc_text(now),
        facts=[
            ("target", target),
            ("environment", "none (a fleet is its member list)"),
            ("account", origin.account or ("local state" if not remote else "unknown")),
            ("commit", commit_link(git) or "not a git checkout"),
        ],
        headline=_headline(data, totals, flagged),
        attention=bool(flagged),
        counters=[
            ("members", data["members"], "plain"),
            ("failed", totals["failed"], "danger"),
            ("drifted", totals["drifted"], "warn"),
            ("pending", totals["pending"], "ready"),
            ("up to date", totals["up to date"], "plain"),
        ],
        bars=_bars(plan, states),
        legend=[(state, level) for state, (level, _) in STATES.items()],
        problems=[
            Item(p.severity.value, p.code, Link(p.file or data["fleet"]), p.message)
            for p in plan.problems
        ],
        flagged=[{**row, "level": _level(row)} for row in flagged[:SHOWN]],
        more=_rest(flagged[SHOWN:]),
        started=started,
        started_iso=iso(started_at) if started_at is not None else None,
        started_text=utc_text(started_at) if started_at is not None else None,
        started_ago=relative_time(started_at, now) if started_at is not None else None,
        stopped=record.get("stopped") if isinstance(record.get("stopped"), str) else None,
        undo=_undo(data["fleet"], remote) if started else None,
        json_command=shell_command(
            "orchestrate",
            "status",
            "--fleet",
            data["fleet"],
            *(["--remote"] if remote else []),
            "--format",
            "json",
        ),
    )


def _rest(rows: list[dict[str, Any]]) -> str | None:
    """``32 more (20 failed, 12 drifted)``: the members the page leaves out."""
    if not rows:
        return None
    failed = sum(1 for r in rows if r.get("outcome") in _FAILED)
    parts = [
        f"{n:,} {what}" for n, what in ((failed, "failed"), (len(rows) - failed, "drifted")) if n
    ]
    return f"{len(rows):,} more ({', '.join(parts)})"


def _level(row: dict[str, Any]) -> str:
    return "danger" if row.get("outcome") in _FAILED else "warn"


def _headline(data: dict[str, Any], totals: dict[str, int], flagged: list[dict[str, Any]]) -> str:
    members = data["members"]
    of = f"of {members:,} member{'' if members == 1 else 's'}"
    if flagged:
        first = flagged[0]
        return (
            f"{totals['failed']:,} failed and {totals['drifted']:,} drifted {of}; "
            f"first: {first['name']}: {first['error']}"
        )
    if totals["pending"]:
        return f"{totals['pending']:,} {of} have migrations pending"
    if not members:
        return "no members"
    return f"all {members:,} member{'' if members == 1 else 's'} up to date"


def _bars(plan: FleetPlan, states: dict[str, str]) -> list[Bar]:
    """One bar per version (oldest first), split by state, most severe on the left."""
    counts: dict[str, dict[str, int]] = {}
    for member_plan in plan.members:
        by_state = counts.setdefault(member_plan.version, {})
        state = states[member_plan.member.id]
        by_state[state] = by_state.get(state, 0) + 1
    widest = max((sum(c.values()) for c in counts.values()), default=1)
    newest = max((m.name for m in plan.migrations), default=None)
    bars = []
    for version in sorted(counts):
        by_state = counts[version]
        total = sum(by_state.values())
        segments = tuple(
            Segment(state, level, by_state[state], _percent(by_state[state], total))
            for state, (level, _) in STATES.items()
            if by_state.get(state)
        )
        bars.append(Bar(version, total, _percent(total, widest), segments, version == newest))
    return bars


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.3g}%"


def _undo(fleet: str, remote: bool) -> tuple[str, str] | None:
    """Time Travel restores every member to just before the last rollout started (remote)."""
    if not remote:
        return None
    return (
        "undo the last rollout (Time Travel, every member it wrote)",
        fleet_undo_command(fleet),
    )
