"""``orchestrate normalize``: rename migrations to ``NNNN_description.sql``.

Ledger rows match files by canonical name (``009_x.sql`` and ``0009_x.sql`` are
one migration), so orchestrate re-runs nothing after a rename. Wrangler's ledger
knows files by name only: ``sync_ledgers`` (or the next ``apply``) adds the new
names, so ``wrangler d1 migrations apply`` re-runs nothing either.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.discovery.naming import parse_name
from orchestrator.engines import Batch, Engine, Target
from orchestrator.engines.ledger import LedgerState
from orchestrator.errors import OrchestrateError
from orchestrator.lifecycle.targets import BatchBuilder, discover_everything, write_locked
from orchestrator.model import Database
from orchestrator.planning import plan_database
from orchestrator.runner.batches import sync_batch
from orchestrator.settings import Settings

GitRunner = Callable[[Sequence[str], Path], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Rename:
    """One file to rename, paths relative to the root; ``tracked`` means ``git mv``."""

    old: str
    new: str
    tracked: bool = False


@dataclass(frozen=True)
class Collision:
    """A rename that cannot happen, and why."""

    file: str
    target: str
    reason: str


@dataclass(frozen=True)
class RenamePlan:
    """Every rename ``normalize`` would do; nothing happens while there are collisions."""

    renames: tuple[Rename, ...]
    collisions: tuple[Collision, ...]


@dataclass(frozen=True)
class Normalized:
    """What ``normalize`` found and did; ``synced`` is None when ledgers were not asked for."""

    plan: RenamePlan
    renamed: tuple[Rename, ...]
    synced: tuple[Synced, ...] | None = None

    def __bool__(self) -> bool:
        return not self.plan.collisions and not any(s.error for s in self.synced or ())


@dataclass(frozen=True)
class Synced:
    """Wrangler ledger rows added on one target, or why that database was not synced."""

    database: str
    target: str
    added: int
    error: str | None = None


def run_git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run git with an argument list (never a shell); a missing git fails like a non-repo."""
    git = shutil.which("git")
    if git is None:
        return subprocess.CompletedProcess(["git", *args], 127, "", "git not found")
    return subprocess.run(  # noqa: S603 - an argument list, no shell
        [git, *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def plan_renames(root: Path, databases: Sequence[Database], git: GitRunner = run_git) -> RenamePlan:
    """The renames to 4-digit, underscore names for every migration of ``databases``."""
    files = sorted({m.file for d in databases for m in d.migrations})
    wanted = [(f, target) for f in files if (target := normal_file(f)) is not None]
    tracked = tracked_files(root, [old for old, _ in wanted], git)
    renames = tuple(Rename(old, new, old in tracked) for old, new in wanted)
    return RenamePlan(renames, find_collisions(root, renames))


def normal_file(file: str) -> str | None:
    """``a/009-x.sql`` -> ``a/0009_x.sql``; None when the name is already normal."""
    directory, _, base = file.rpartition("/")
    parsed = parse_name(base)
    if parsed is None or (parsed.digits >= 4 and parsed.separator == "_"):
        return None
    name = parsed.canonical + base[-4:]  # keep the suffix as written
    return f"{directory}/{name}" if directory else name


def tracked_files(root: Path, files: Sequence[str], git: GitRunner) -> frozenset[str]:
    """The ``files`` git tracks (none outside a repository)."""
    if not files:
        return frozenset()
    done = git(["ls-files", "-z", "--", *files], root)
    if done.returncode != 0:
        return frozenset()
    return frozenset(f for f in done.stdout.split("\0") if f)


def find_collisions(root: Path, renames: Sequence[Rename]) -> tuple[Collision, ...]:
    """Renames whose target exists already, or that two files would share."""
    counts = Counter(r.new.lower() for r in renames)
    found = []
    for r in renames:
        if counts[r.new.lower()] > 1:
            found.append(Collision(r.old, r.new, "another file would get the same name"))
        elif (root / r.new).exists() and not (root / r.new).samefile(root / r.old):
            found.append(Collision(r.old, r.new, "a file with that name exists already"))
    return tuple(found)


def apply_renames(root: Path, plan: RenamePlan, git: GitRunner = run_git) -> tuple[Rename, ...]:
    """Perform every rename (``git mv`` for tracked files); undo them all if one fails."""
    if plan.collisions:
        first = plan.collisions[0]
        raise OrchestrateError(f"{first.file} -> {first.target}: {first.reason}", file=first.file)
    done: list[Rename] = []
    try:
        for rename in plan.renames:
            _move(root, rename, git)
            done.append(rename)
    except OrchestrateError:
        for rename in reversed(done):
            _move(root, replace(rename, old=rename.new, new=rename.old), git)
        raise
    return tuple(done)


def _move(root: Path, rename: Rename, git: GitRunner) -> None:
    if rename.tracked:
        result = git(["mv", "--", rename.old, rename.new], root)
        if result.returncode != 0:
            raise OrchestrateError(f"git mv failed: {result.stderr.strip()}", file=rename.old)
        return
    try:
        (root / rename.old).rename(root / rename.new)
    except OSError as exc:
        raise OrchestrateError(f"cannot rename: {exc.strerror}", file=rename.old) from None


def sync_ledgers(
    engine: Engine, databases: Sequence[Database], settings: Settings
) -> tuple[Synced, ...]:
    """Add wrangler's rows for applied migrations under their current file names, now."""
    synced: list[Synced] = []
    for database in databases:
        try:
            written = write_locked(engine, database, settings, _sync_builder(database))
        except OrchestrateError as exc:  # like apply: one database failing stops no other
            synced.append(Synced(database.name, engine.name, 0, str(exc)))
            continue
        for w in written:
            added = len(w.batch.statements) if w.batch else 0
            synced.append(Synced(database.name, w.target.label, added))
    return tuple(synced)


def _sync_builder(database: Database) -> BatchBuilder:
    def build(_target: Target, state: LedgerState) -> Batch | None:
        return sync_batch(database, plan_database(database, state.rows, read=True), state)

    return build


def normalize_workspace(
    settings: Settings, write: bool, engine: Engine | None = None, git: GitRunner = run_git
) -> Normalized:
    """Plan the renames; with ``write``, do them; with an ``engine``, then sync wrangler's ledgers."""
    _, databases = discover_everything(settings)
    plan = plan_renames(settings.root, databases, git)
    if not write or plan.collisions:
        return Normalized(plan, ())
    renamed = apply_renames(settings.root, plan, git)
    if engine is None:
        return Normalized(plan, renamed)
    _, databases = discover_everything(settings)  # again: the files have new names now
    return Normalized(plan, renamed, sync_ledgers(engine, databases, settings))
