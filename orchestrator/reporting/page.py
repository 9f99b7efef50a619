"""``status --format html``: one self-contained page a release manager leaves open.

The page is a jinja2 template (``templates/status.html.j2``, shipped as package data)
rendered with autoescaping on, so every name, path and message from the workspace is
text, never markup. This module turns the dashboard into plain values for it: the
severity level of each database, relative times, links and the commands to copy.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import project
from orchestrator.checks.catalog import BY_CODE
from orchestrator.checks.findings import Finding
from orchestrator.commandline import shell_command
from orchestrator.dashboard import Dashboard, DatabaseStatus, Origin, Urgency
from orchestrator.discovery.gitinfo import GitInfo
from orchestrator.model import Problem, Severity
from orchestrator.reporting.output import escape_controls

if TYPE_CHECKING:
    import jinja2

# The colour of a card: "danger" is reserved for what the next apply would break.
LEVEL = {
    Urgency.LINT_ERRORS: "danger",
    Urgency.CHANGED: "danger",
    Urgency.BROKEN: "danger",
    Urgency.LOCKED: "warn",
    Urgency.DRIFT: "warn",
    Urgency.OUT_OF_ORDER: "warn",
    Urgency.PENDING: "ready",
    Urgency.WARNINGS: "ok",
    Urgency.FINE: "ok",
}

LABEL = {
    Urgency.LINT_ERRORS: "errors in pending migrations",
    Urgency.CHANGED: "changed after apply",
    Urgency.BROKEN: "errors",
    Urgency.LOCKED: "locked",
    Urgency.DRIFT: "schema drift",
    Urgency.OUT_OF_ORDER: "out of order",
    Urgency.PENDING: "ready to apply",
    Urgency.WARNINGS: "up to date",
    Urgency.FINE: "up to date",
}

RULE_DOC = "docs/lint-rules.md"


@dataclass(frozen=True)
class Link:
    """Text to show and, when there is somewhere to go, where it points."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class Item:
    """One finding or problem, as the page lists it."""

    severity: str
    code: str
    place: Link
    message: str
    rule_anchor: str | None = None


def render_status_page(board: Dashboard, root: Path | None = None) -> str:
    """The whole page as one string (styles and a small script inline)."""
    origin = board.origin or Origin(time.time())
    now = origin.generated_at
    git = GitInfo(origin.commit, origin.dirty, origin.web_url, origin.git_prefix)
    links = _Linker(git, root)
    cards = [_card(row, board, links, now) for row in board.databases]
    rules = sorted({f.rule for row in board.databases for f in row.lint.findings})
    account = origin.account or ("local state" if board.target == "local" else "unknown")
    return template("status.html.j2").render(
        board=board,
        origin=origin,
        generated=iso(now),
        generated_text=utc_text(now),
        facts=[
            ("target", board.target),
            ("environment", board.env or "top level"),
            ("account", account),
            ("commit", commit_link(git) or "not a git checkout"),
        ],
        counters=_counters(board),
        cards=cards,
        general=[links.problem(p) for p in board.problems],
        rules=[_rule(code) for code in rules],
    )


@cache
def template(name: str) -> jinja2.Template:
    """A page template of ``templates/`` (they share ``base.html.j2`` and ``macros.html.j2``)."""
    return _environment().get_template(name)


@cache
def _environment() -> jinja2.Environment:
    import jinja2  # only the html format pays for it (about 40 ms)

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("orchestrator.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_visible,
    )
    env.filters["n"] = _thousands
    return env


def _visible(value: object) -> object:
    """Every value the page prints, with control characters shown as ``\\xNN`` (an ESC or
    NUL in a name is text to read, not a byte for the browser to drop). Markup a macro
    built is left alone: its values went through here already."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return escape_controls(value)
    return value


def _thousands(value: int) -> str:
    """``2,000``: counts as the text outputs print them."""
    return f"{value:,}"


def relative_time(then: float, now: float) -> str:
    """``just now``, ``12 min ago``, ``3 h ago``, ``5 d ago`` (or ``in …`` for a future time)."""
    seconds = now - then
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "just now"
    for unit, size, limit in (("min", 60, 90 * 60), ("h", 3600, 36 * 3600), ("d", 86400, None)):
        if limit is None or seconds < limit:
            amount = max(1, round(seconds / size))
            return f"in {amount} {unit}" if ahead else f"{amount} {unit} ago"
    raise AssertionError("unreachable")


def parse_utc(stamp: str | None) -> float | None:
    """Seconds since the epoch for ``2026-01-01 00:00:00`` or ``2026-01-01T00:00:00Z`` (UTC)."""
    if not stamp:
        return None
    text = stamp.strip().replace("T", " ").removesuffix("Z")[:19]
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S")))
    except ValueError:
        return None


class _Linker:
    """Links to files: the hosting site at this commit when known, else the local file."""

    def __init__(self, git: GitInfo, root: Path | None) -> None:
        self.git = git
        self.root = root.resolve() if root is not None else None

    def file(self, path: str | None, line: int | None = None) -> Link:
        if not path:
            return Link("workspace")
        text = f"{path}:{line}" if line else path
        href = self.git.blob_url(path, line)
        if href is None and self.root is not None:
            href = (self.root / path).as_uri() + (f"#L{line}" if line else "")
        return Link(text, href)

    def finding(self, finding: Finding) -> Item:
        anchor = f"rule-{finding.rule.lower()}" if finding.rule in BY_CODE else None
        place = self.file(finding.file, finding.line)
        return Item(finding.severity.value, finding.rule, place, finding.message, anchor)

    def problem(self, problem: Problem) -> Item:
        place = (
            self.file(problem.file, problem.line)
            if problem.file
            else Link(problem.database or "workspace")
        )
        return Item(problem.severity.value, problem.code, place, problem.message)


def _card(row: DatabaseStatus, board: Dashboard, links: _Linker, now: float) -> dict[str, Any]:
    last_at = parse_utc(row.last_applied_at)
    drift = row.drift_detail
    checked = parse_utc(drift.checked_at) if drift else None
    pending_state = row.urgency in (Urgency.WARNINGS, Urgency.FINE) and row.pending
    return {
        "row": row,
        "level": LEVEL[row.urgency],
        "label": LABEL[Urgency.PENDING] if pending_state else LABEL[row.urgency],
        "slug": _slug(row.name),
        "last_applied_iso": iso(last_at) if last_at is not None else None,
        "last_applied_ago": relative_time(last_at, now) if last_at is not None else None,
        "changed": [links.file(f) for f in row.changed],
        "next": [links.file(f) for f in row.next_pending],
        "more": row.pending - len(row.next_pending),
        "findings": [links.finding(f) for f in row.lint.findings],
        "problems": [links.problem(p) for p in row.problems if p.code != "ledger.changed"],
        "drift_checked_iso": iso(checked) if checked is not None else None,
        "drift_checked_ago": relative_time(checked, now) if checked is not None else None,
        "commands": _commands(row, board),
    }


def _commands(row: DatabaseStatus, board: Dashboard) -> list[tuple[str, str]]:
    """What to copy next: the Time Travel undo, and the command this state calls for."""
    where = ["--remote"] if board.target == "remote" else []
    where += ["--env", board.env] if board.env else []
    commands = []
    if row.bookmark:
        undo = shell_command(
            "wrangler", "d1", "time-travel", "restore", row.name, f"--bookmark={row.bookmark}"
        )
        commands.append(("undo the last release", undo))
    if row.urgency is Urgency.LINT_ERRORS:
        commands.append(
            ("see every finding", shell_command("orchestrate", "check", "--db", row.name, *where))
        )
    elif row.pending and row.urgency >= Urgency.OUT_OF_ORDER:
        commands.append(("apply", shell_command("orchestrate", "apply", "--db", row.name, *where)))
    return commands


def _counters(board: Dashboard) -> list[tuple[str, int, str]]:
    """(label, value, level): the level colours a counter only when it is not zero."""
    attention = sum(1 for r in board.databases if LEVEL[r.urgency] == "danger")
    errors = board.errors + sum(r.lint.errors for r in board.databases)
    warnings = sum(r.lint.warnings + r.warnings for r in board.databases) + sum(
        1 for p in board.problems if p.severity is Severity.WARNING
    )
    drifted = sum(1 for r in board.databases if r.drift)
    return [
        ("databases", len(board.databases), "plain"),
        ("need attention", attention, "danger"),
        ("errors", errors, "danger"),
        ("changed", board.changed, "danger"),
        ("pending", board.pending, "ready"),
        ("applied", sum(r.applied for r in board.databases), "plain"),
        ("drifted", drifted, "warn"),
        ("warnings", warnings, "warn"),
    ]


def commit_link(git: GitInfo) -> Link | None:
    if git.commit is None:
        return None
    text = git.commit[:12] + (" (uncommitted changes)" if git.dirty else "")
    href = f"{git.web_url}/commit/{git.commit}" if git.web_url else None
    return Link(text, href)


def _rule(code: str) -> dict[str, Any]:
    rule = BY_CODE.get(code)
    anchor = code.lower()
    return {
        "code": code,
        "anchor": f"rule-{anchor}",
        "slug": rule.slug if rule else "",
        "summary": rule.summary if rule else "",
        "fix": rule.fix if rule else "",
        "doc": Link(f"{RULE_DOC}#{anchor}", project.doc_url(RULE_DOC, anchor)),
    }


def _slug(name: str) -> str:
    return "db-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in name)


def iso(seconds: float) -> str:
    """``2027-01-15T08:00:00Z``: what ``<time datetime>`` and the page's script read."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def utc_text(seconds: float) -> str:
    """``2027-01-15 08:00:00 UTC``: the exact time, for people."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
