"""``--fleet NAME`` for ``plan``, ``apply`` and ``status``: one migration set, many databases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from orchestrator.errors import UsageError
from orchestrator.reporting.output import Format, console, write_json, write_text
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from orchestrator.fleets.model import Member
    from orchestrator.fleets.service import FleetRequest, Hooks

# The fleet machinery (its model imports the checks, its service httpx) loads only when
# --fleet is given: importing it with every `plan`, `apply` and `status` cost ~0.25 s.

FleetOpt = Annotated[
    str | None,
    typer.Option("--fleet", metavar="NAME", help="A [fleets.NAME] of workspace.toml: its members."),
]
ShardOpt = Annotated[
    str | None,
    typer.Option("--shard", metavar="I/N", help="Only shard I/N of the members (CI matrix jobs)."),
]


def fleet_request(
    settings: Settings,
    fleet: str,
    remote: bool,
    persist_to: Path | None,
    shard: str | None,
    **more: object,
) -> FleetRequest:
    """The request of a fleet command (``--shard`` parsed, ``--jobs`` checked, and
    ``engine``, ``--engine``, refused where it names wrangler)."""
    from orchestrator.fleets.planning import parse_shard
    from orchestrator.fleets.service import FleetRequest

    if more.pop("engine", None) == "wrangler":
        raise UsageError(
            "--engine wrangler does not drive a fleet: a fleet talks to the D1 API directly "
            "(one read and one write per member, which wrangler cannot batch)",
            hint="drop --engine; set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID",
        )
    jobs = more.pop("jobs", None) or 8
    if not isinstance(jobs, int) or jobs < 1:
        raise UsageError("--jobs must be at least 1")
    return FleetRequest(settings, fleet, remote, persist_to, parse_shard(shard), jobs, **more)  # type: ignore[arg-type]


def show_plan(request: FleetRequest, fmt: Format) -> int:
    """``plan --fleet``: exit 1 when a member is refused or a problem is an error."""
    from orchestrator.fleets.service import plan_fleet
    from orchestrator.reporting.fleet import plan_to_dict, render_plan

    plan = plan_fleet(request)
    if fmt is Format.JSON:
        write_json(plan_to_dict(plan))
    else:
        render_plan(console(), plan)
    refused = any(p.refusal for p in plan.members) or any(p.is_error for p in plan.problems)
    return 1 if refused else 0


def show_status(request: FleetRequest, fmt: Format) -> int:
    """``status --fleet``."""
    from orchestrator.fleets.service import status_fleet
    from orchestrator.reporting.fleet import (
        render_status_markdown,
        render_status_text,
        status_to_dict,
    )

    plan, record, flagged = status_fleet(request)
    data = status_to_dict(plan, record, flagged)
    if fmt is Format.JSON:
        write_json(data)
    elif fmt is Format.MARKDOWN:
        write_text(render_status_markdown(data))
    elif fmt is Format.HTML:
        from orchestrator.reporting.fleet_page import render_fleet_page
        from orchestrator.services import workspace_origin

        origin = workspace_origin(request.settings, request.remote, time.time())
        write_text(render_fleet_page(data, plan, record, origin, request.remote))
    else:
        render_status_text(console(), data)
    return 0


def run_apply(request: FleetRequest, fmt: Format) -> int:
    """``apply --fleet``: exit 0 when every member ended well, 1 otherwise."""
    from orchestrator.fleets.service import apply_fleet
    from orchestrator.reporting.fleet import render_report, report_to_dict

    err = console(stderr=True)
    with progress(err) as watch:
        _, report = apply_fleet(request, watch.hooks)
    if fmt is Format.JSON:
        write_json(report_to_dict(report))
    else:
        render_report(console(), report)
    return 0 if report else 1


class Ended(Protocol):
    """A member at the end of a run (a fleet apply's result, an undo's restore)."""

    @property
    def member(self) -> Member: ...

    @property
    def error(self) -> str | None: ...

    @property
    def failed(self) -> bool: ...

    @property
    def outcome(self) -> object: ...


@contextmanager
def progress(err: Console, label: str = "members") -> Iterator[Watch]:
    """A progress bar (done, failed, rate, ETA) and announced waits, on stderr."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from orchestrator.fleets.service import Hooks

    failed = [0]
    lock = threading.Lock()
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )
    task = bar.add_task(label, total=None, failed=0, rate="")

    def ended(result: Ended) -> None:
        with lock:
            failed[0] += int(result.failed)
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, failed=failed[0], rate=f"{speed:.1f} members/s" if speed else "")
        if not err.is_terminal and result.failed:
            err.print(
                f"{result.outcome} {result.member.name}: {result.error or ''}",
                soft_wrap=True,
                markup=False,
            )

    def on_start(total: int) -> None:
        bar.update(task, total=total)

    def notify(message: str) -> None:
        err.print(message, soft_wrap=True, markup=False)

    with bar:
        yield Watch(Hooks(notify=notify, on_result=ended, on_start=on_start), ended)


@dataclass(frozen=True)
class Watch:
    """What a fleet run reports to the person watching: its hooks, and each member's end."""

    hooks: Hooks
    ended: Callable[[Ended], None]
