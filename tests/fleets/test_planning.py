"""Pure fleet planning: shards, stages, versions, member plans, estimates (plain data)."""

from __future__ import annotations

import pytest

from orchestrator.errors import UsageError
from orchestrator.fleets.model import AppliedRow, Member, MemberState
from orchestrator.fleets.planning import (
    estimate,
    parse_shard,
    parse_wave,
    plan_member,
    plan_stages,
    select_shard,
    stable_key,
    version_of,
)
from orchestrator.model import Migration

MEMBERS = [Member(f"id-{n}", f"tenant-{n}") for n in range(100)]


def migration(number: int, sql: str = "SELECT 1;") -> Migration:
    name = f"{number:04d}_m{number}"
    return Migration(number, f"m{number}", f"mig/{name}.sql", "mig", ".", f"sha256:{number}", sql)


MIGRATIONS = (migration(1), migration(2), migration(3))


def test_shards_split_every_member_exactly_once_and_stably() -> None:
    shards = [select_shard(MEMBERS, (i, 4)) for i in range(1, 5)]
    ids = [m.id for shard in shards for m in shard]
    assert sorted(ids) == sorted(m.id for m in MEMBERS)
    assert all(shards) and select_shard(list(reversed(MEMBERS)), (2, 4)) == shards[1]
    assert stable_key("id-1") == stable_key("id-1")  # sha256, not Python's salted hash


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "3", "1/0"])
def test_bad_shards_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_shard(text)


@pytest.mark.parametrize(
    ("text", "members", "size"), [(None, 10, 10), ("3", 10, 3), ("10%", 95, 10), ("100%", 7, 7)]
)
def test_wave_sizes(text: str | None, members: int, size: int) -> None:
    assert parse_wave(text, members) == size


@pytest.mark.parametrize("text", ["0", "-1", "0%", "150%", "x"])
def test_bad_waves(text: str) -> None:
    with pytest.raises(UsageError):
        parse_wave(text, 10)


def test_stages_put_the_canary_list_first_then_n_more_then_waves() -> None:
    members = MEMBERS[:10]
    stages = plan_stages(members, ["tenant-7"], 2, 3)
    assert [s.label for s in stages] == ["canary", "wave 1", "wave 2", "wave 3"]
    assert [m.name for m in stages[0].members] == ["tenant-7", "tenant-0", "tenant-1"]
    assert sum(len(s.members) for s in stages) == 10
    assert len({m for s in stages for m in s.members}) == 10


def test_no_canary_means_waves_only() -> None:
    assert [s.label for s in plan_stages(MEMBERS[:4], [], 0, 4)] == ["wave 1"]


def test_version_is_the_last_applied_migration() -> None:
    assert version_of([]) == "none"
    assert version_of(["0002_m2.sql", "0001_m1.sql", "003_m3.sql"]) == "0003_m3"


def test_member_plan_pending_in_order() -> None:
    state = MemberState(Member("a", "a"), (AppliedRow("0001_m1.sql", "sha256:1"),))
    plan = plan_member(state, MIGRATIONS)
    assert [m.number for m in plan.pending] == [2, 3] and plan.refusal is None
    assert plan.version == "0001_m1"


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ((AppliedRow("0001_m1.sql", "sha256:other"),), "changed after it was applied"),
        ((AppliedRow("0009_gone.sql"),), "has no file"),
        ((AppliedRow("0002_m2.sql", "sha256:2"),), "pending below"),
    ],
)
def test_member_plan_refusals(rows: tuple[AppliedRow, ...], words: str) -> None:
    plan = plan_member(MemberState(Member("a", "a"), rows), MIGRATIONS)
    assert plan.refusal is not None and words in plan.refusal


def test_unreadable_member_is_refused_with_its_error() -> None:
    plan = plan_member(MemberState(Member("a", "a"), error="HTTP 404"), MIGRATIONS)
    assert plan.refusal == "HTTP 404"


def test_estimate_wording_matches_the_issue() -> None:
    cost = estimate(1834, 1834, 1, 1200, 300.0)
    assert (
        cost.describe()
        == "1,834 members, about 3,669 requests, about 15 min at 1,200 requests per 5 min"
    )
