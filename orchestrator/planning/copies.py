"""Pure: the local copies of a database that several packages bind.

Each package keeps its own local state file, and per-package ``wrangler d1 migrations
apply`` moves one copy at a time, so copies drift apart. The plan says which copy is
behind and what brings it up, instead of reading the gap as a misnumbered migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from orchestrator.commandline import shell_command
from orchestrator.model import CopyStatus, DatabasePlan, Plan, Problem, Severity

# database key -> ((package, canonical names applied there), ...)
Applied = Mapping[str, tuple[tuple[str, frozenset[str]], ...]]


def with_copies(plan: Plan, applied: Applied) -> Plan:
    """``plan`` with each multi-copy database's per-copy status and a problem per copy behind."""
    databases = tuple(_with_copies(db, applied.get(db.database.key, ())) for db in plan.databases)
    return replace(plan, databases=databases)


def _with_copies(db: DatabasePlan, copies: tuple[tuple[str, frozenset[str]], ...]) -> DatabasePlan:
    if len(copies) < 2:
        return db
    order = {s.migration.name: i for i, s in enumerate(db.steps)}
    union = frozenset().union(*(names for _, names in copies))
    statuses = tuple(
        CopyStatus(
            package,
            len(names & order.keys()),
            tuple(sorted(union - names, key=lambda n: order.get(n, len(order)))),
        )
        for package, names in copies
    )
    behind = [c for c in statuses if c.missing]
    if not behind:
        return replace(db, copies=statuses)
    late = {s.migration.name for s in db.steps if s.out_of_order}
    kept = tuple(
        p for p in db.problems if not (p.code == "plan.out-of-order" and _name_of(db, p) in union)
    )
    ahead = max(statuses, key=lambda c: c.applied).package
    extra = tuple(_behind(db, copy, ahead, bool(late & set(copy.missing))) for copy in behind)
    return replace(db, copies=statuses, problems=kept + extra)


def _name_of(db: DatabasePlan, problem: Problem) -> str | None:
    return next((s.migration.name for s in db.steps if s.migration.file == problem.file), None)


def catch_up_hint(db: DatabasePlan, package: str, out_of_order: bool) -> str:
    """What brings the copy in ``package`` up: orchestrate, or wrangler in that package."""
    database = db.database
    binding = next((b for b in database.bindings if b.package == package), database.bindings[0])
    flag = ("--allow-out-of-order",) if out_of_order else ()
    ours = shell_command("orchestrate", "apply", "--db", database.name, *flag)
    if binding.migrations_dir not in {m.source for m in database.migrations}:
        return f"run `{ours}` (wrangler finds no migrations directory in {package})"
    theirs = shell_command(
        "wrangler", "d1", "migrations", "apply", binding.database_name or binding.binding, "--local"
    )
    return f"run `{ours}`, or `{theirs}` in {package}"


def _behind(db: DatabasePlan, copy: CopyStatus, ahead: str, out_of_order: bool) -> Problem:
    shown = ", ".join(f"{n}.sql" for n in copy.missing[:3]) + (
        ", …" if len(copy.missing) > 3 else ""
    )
    message = (
        f"the local copy in {copy.package} is behind the one in {ahead}: {len(copy.missing)} "
        f"migration(s) applied there are not applied here ({shown}); "
        f"{catch_up_hint(db, copy.package, out_of_order)}"
    )
    config = next(b.config for b in db.database.bindings if b.package == copy.package)
    return Problem(Severity.WARNING, "copies.behind", message, config, None, db.database.name)
