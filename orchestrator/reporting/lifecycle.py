"""Output of the lifecycle commands: text for people, JSON (``version`` added on write)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from orchestrator.lifecycle.baseline import Baseline
from orchestrator.lifecycle.normalize import Normalized
from orchestrator.lifecycle.npm import NpmResult
from orchestrator.lifecycle.repair import Repair
from orchestrator.lifecycle.workspace_file import InitResult
from orchestrator.model import Migration

LEDGER_NOTE = (
    "What happens to the ledgers: nothing runs again.",
    "- orchestrate's ledger records canonical names (0009_x.sql for 009_x.sql),",
    "  so every renamed migration still counts as applied.",
    "- wrangler's ledger (d1_migrations) records file names. The next",
    "  `orchestrate apply` adds the new names before it runs anything;",
    "  `orchestrate normalize --yes --sync-ledgers [--local|--remote]` adds them now.",
    "  Until then, do not run `wrangler d1 migrations apply` on a database where a",
    "  renamed file was applied: wrangler would run it again.",
    "- Other copies (teammates' local state, staging, production) are brought up to",
    "  date by their next `orchestrate apply`, or by `orchestrate normalize --yes",
    "  --sync-ledgers` run against them once the renames are merged.",
)

if TYPE_CHECKING:  # the adopt types pull in the shadow replay; only annotations need them here
    from orchestrator.lifecycle.adopt import Adoption, TargetAdoption
    from orchestrator.schema.compare import Fact


def say(console: Console, text: str, style: str | None = None) -> None:
    """One line of output, never re-wrapped, never read as rich markup."""
    console.print(text, style=style, markup=False, soft_wrap=True, highlight=False)


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    rel = os.path.relpath(path, Path.cwd())
    return (rel if not rel.startswith("..") else str(path)).replace(os.sep, "/")


def render_init(console: Console, result: InitResult) -> None:
    """What ``init`` wrote to ``workspace.toml``."""
    where = shown_path(result.path)
    if not result.changed:
        say(console, f"{where}: up to date ({len(result.kept)} keys and sections kept)")
        return
    verb = "wrote" if result.created else "added to"
    say(console, f"{verb} {where}: {', '.join(result.added)}")
    if result.kept:
        say(console, f"kept as you wrote them: {', '.join(result.kept)}")


def render_npm(console: Console, result: NpmResult) -> None:
    """What ``init --npm-scripts`` did to ``package.json``."""
    where = shown_path(result.path)
    changed = [*result.added, *(f"{n} (updated)" for n in result.updated)]
    say(console, f"{where}: {', '.join(changed)}" if changed else f"{where}: scripts up to date")
    for name, command in result.kept:
        say(
            console,
            f"kept {name} (runs `{command}`); delete it and run init again to use orchestrate",
            "yellow",
        )


def render_normalized(console: Console, result: Normalized, write: bool) -> None:
    """The renames (done or to do), collisions, synced ledgers and the ledger note."""
    plan = result.plan
    if not plan.renames:
        say(console, "Every migration already has a 4-digit name.")
    for rename in plan.renames:
        say(console, f"{'git mv' if rename.tracked else 'mv'} {rename.old} -> {rename.new}")
    for c in plan.collisions:
        say(console, f"refused: {c.file} -> {c.target}: {c.reason}", "bold red")
    if plan.collisions:
        say(console, "Nothing was renamed. Resolve the collisions, then run again.", "red")
        return
    if plan.renames:
        done = (
            f"Renamed {len(result.renamed)} files." if write else "Dry run: pass --yes to rename."
        )
        say(console, done, "green" if write else "yellow")
    _render_synced(console, result)
    if plan.renames or result.synced is not None:
        say(console, "")
        for line in LEDGER_NOTE:
            say(console, line)


def _render_synced(console: Console, result: Normalized) -> None:
    if result.synced is None:
        return
    for s in result.synced:
        if s.error:
            say(console, f"{s.database}: not synced: {s.error}", "bold red")
        elif s.added:
            say(console, f"{s.database} ({s.target}): {s.added} wrangler ledger rows added")
    current = sum(1 for s in result.synced if not s.added and not s.error)
    say(console, f"wrangler ledgers already up to date on {current} other local or remote copies")
    if any(s.error for s in result.synced):
        say(console, "Fix the above, then run `orchestrate normalize --yes --sync-ledgers` again.")


def normalized_to_dict(result: Normalized, write: bool) -> dict[str, Any]:
    """``normalize --format json``."""
    return {
        "write": write,
        "renames": [{"from": r.old, "to": r.new, "git": r.tracked} for r in result.plan.renames],
        "collisions": [
            {"file": c.file, "to": c.target, "reason": c.reason} for c in result.plan.collisions
        ],
        "renamed": len(result.renamed),
        "synced": None
        if result.synced is None
        else [
            {"database": s.database, "target": s.target, "added": s.added, "error": s.error}
            for s in result.synced
        ],
    }


def render_baseline(console: Console, result: Baseline) -> None:
    """Per target: the migrations recorded (or that would be) as applied."""
    for t in result.targets:
        head = f"{result.database} ({t.target})"
        if not t.exists:
            say(console, f"{head}: no state yet, nothing was applied there; skipped")
            continue
        verb = "recorded" if result.written else "would record"
        say(console, f"{head}: {verb} {len(t.record)} as applied (already recorded: {t.already})")
        for m in t.record:
            say(console, f"  {m.number:04d}  {m.file}" if m.numbered else f"  ----  {m.file}")
    if not result.written:
        say(console, "Dry run: nothing written. Pass --yes to record.", "yellow")


def baseline_to_dict(result: Baseline) -> dict[str, Any]:
    """``baseline --format json``."""
    return {
        "database": result.database,
        "to": result.to,
        "written": result.written,
        "targets": [
            {
                "target": t.target,
                "exists": t.exists,
                "already": t.already,
                "record": [{"name": m.name, "file": m.file} for m in t.record],
            }
            for t in result.targets
        ],
    }


def render_repair(console: Console, result: Repair) -> None:
    """Each checksum accepted (or to accept), old and new."""
    if not result.accepted:
        say(console, f"{result.database}: no changed migrations; nothing to accept")
        return
    verb = "accepted" if result.written else "would accept"
    for a in result.accepted:
        say(console, f"{result.database} ({a.target}): {verb} {a.file}")
        say(console, f"  recorded {a.old}", "dim")
        say(console, f"  file     {a.new}", "dim")
    if not result.written:
        files = " ".join(sorted({a.file for a in result.accepted}))
        say(console, f"Review the changes (`git log -p -- {files}`), then pass --yes.", "yellow")


def repair_to_dict(result: Repair) -> dict[str, Any]:
    """``repair --format json``."""
    return {
        "database": result.database,
        "written": result.written,
        "accepted": [
            {"target": a.target, "file": a.file, "old": a.old, "new": a.new}
            for a in result.accepted
        ],
    }


SHOWN_FACTS = 8
ADOPT_STATE = {
    "missing": "no state yet: nothing was applied there; skipped",
    "tracked": "has a ledger already: adopt leaves it alone (see `orchestrate plan`)",
    "empty": "no tables: nothing was applied; `orchestrate apply` will run everything",
}


def render_adoption(console: Console, result: Adoption) -> None:
    """Per target: the verdict and its evidence (matched, missing, extra)."""
    total = len(result.migrations)
    say(console, f"{result.database}: {total} migrations replayed on a shadow database")
    if result.stopped is not None:
        s = result.stopped
        say(console, f"  the replay stopped at {s.file}:{s.line}: {s.message}", "yellow")
    for t in result.targets:
        head = f"{result.database} ({t.target})"
        if t.state in ADOPT_STATE:
            say(console, f"{head}: {ADOPT_STATE[t.state]}")
            continue
        _render_verdict(console, result.database, t, result.migrations)
    _render_adopt_outcome(console, result)


def _render_verdict(
    console: Console, database: str, t: TargetAdoption, migrations: tuple[Migration, ...]
) -> None:
    head = f"{database} ({t.target})"
    after = f"after {migrations[t.count - 1].name}" if t.count else "before any migration"
    if t.state == "matched":
        say(
            console, f"{head}: matches the schema {after} ({t.count} of {len(migrations)})", "green"
        )
    else:
        say(console, f"{head}: matches no prefix of the plan cleanly; closest: {after}", "bold red")
    assert t.diff is not None
    from orchestrator.schema.compare import summarize

    say(console, f"  matched: {summarize(t.diff.matched)}")
    nxt = migrations[t.count].name if t.state == "matched" and t.count < len(migrations) else None
    label = f"missing (what {nxt} would add)" if nxt else "missing"
    _render_facts(console, label, t.diff.missing)
    _render_facts(console, "extra", t.diff.extra)
    for m in t.unverifiable:
        kept = m in t.record
        fate = (
            "recorded: check its rows"
            if kept
            else "left pending: apply runs it (baseline records it if you know it ran)"
        )
        say(
            console,
            f"  not provable from the schema: {m.name} changes no structure; {fate}",
            "yellow",
        )


def _render_facts(console: Console, label: str, facts: tuple[Fact, ...]) -> None:
    from orchestrator.schema.compare import fold_tables

    lines = fold_tables(facts)
    if not lines:
        say(console, f"  {label}: none")
        return
    more = f" … and {len(lines) - SHOWN_FACTS} more" if len(lines) > SHOWN_FACTS else ""
    say(console, f"  {label}: {'; '.join(lines[:SHOWN_FACTS])}{more}")


def _render_adopt_outcome(console: Console, result: Adoption) -> None:
    if not result.clean:
        say(
            console,
            "Nothing recorded: fix the drift shown above, then run adopt again.",
            "bold red",
        )
        return
    chosen = [t for t in result.targets if t.record]
    for t in chosen:
        verb = "recorded" if result.written else "--yes records"
        first, last = t.record[0].name, t.record[-1].name
        say(console, f"{result.database} ({t.target}): {verb} {first} … {last} as applied")
    if chosen and not result.written:
        say(console, "Dry run: nothing written. Pass --yes to record.", "yellow")


def adoption_to_dict(result: Adoption) -> dict[str, Any]:
    """``adopt --format json``: the verdict and the full evidence, per target."""
    stopped = result.stopped
    return {
        "database": result.database,
        "written": result.written,
        "clean": result.clean,
        "replay_stopped": None
        if stopped is None
        else {"file": stopped.file, "line": stopped.line, "message": stopped.message},
        "targets": [_target_dict(t, result.migrations) for t in result.targets],
    }


def _target_dict(t: TargetAdoption, migrations: tuple[Migration, ...]) -> dict[str, Any]:
    through = migrations[t.count - 1].name if t.count and t.state in ("matched", "drift") else None
    diff = t.diff
    return {
        "target": t.target,
        "state": t.state,
        "through": through,
        "count": t.count if t.state in ("matched", "drift") else None,
        "matched": [f.text for f in diff.matched] if diff else [],
        "missing": [f.text for f in diff.missing] if diff else [],
        "extra": [f.text for f in diff.extra] if diff else [],
        "unverifiable": [m.name for m in t.unverifiable],
        "record": [m.name for m in t.record],
    }
