"""Which files to lint: the workspace's databases, narrowed to ``PATHS``, plus SQL
files under ``PATHS`` that no binding feeds (linted alone, grouped by directory)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from orchestrator.checks.engine import Unit
from orchestrator.checks.parsed import ParsedMigration, parse_migration
from orchestrator.discovery.naming import parse_name
from orchestrator.errors import UsageError
from orchestrator.model import Migration, Plan

_SKIP_DIRS = frozenset({".git", "node_modules", ".wrangler", "dist", "build", ".venv"})


def relative_paths(root: Path, paths: Iterable[Path]) -> tuple[str, ...]:
    """``PATHS`` as root-relative ``/`` paths; a missing path or one outside the root is a usage error."""
    result = []
    for given in paths:
        # Relative to the current directory, as a shell completes it; else to the root.
        path = given if given.exists() or given.is_absolute() else root / given
        absolute = path.resolve()
        if not absolute.exists():
            raise UsageError(
                f"{path} does not exist", hint="pass files or directories of the workspace"
            )
        try:
            relative = absolute.relative_to(root.resolve())
        except ValueError:
            raise UsageError(
                f"{path} is outside the workspace root {root}", hint="pass --root"
            ) from None
        result.append(relative.as_posix())
    return tuple(result)


def is_under(file: str, paths: tuple[str, ...]) -> bool:
    """True when ``file`` is one of ``paths`` or inside one of them (no paths: everything)."""
    if not paths:
        return True
    return any(p == "." or file == p or file.startswith(p.rstrip("/") + "/") for p in paths)


def plan_units(plan: Plan, paths: tuple[str, ...]) -> list[Unit]:
    """One unit per database that has a migration under ``paths``, in apply order."""
    units = []
    for database_plan in plan.databases:
        name = database_plan.database.name
        migrations = [step.migration for step in database_plan.steps]
        if migrations and any(is_under(m.file, paths) for m in migrations):
            units.append(Unit(name, tuple(migrations)))
    return units


def loose_units(root: Path, paths: tuple[str, ...], known: set[str]) -> list[Unit]:
    """SQL files under ``paths`` that no database includes, one unit per directory."""
    by_directory: dict[str, list[ParsedMigration]] = defaultdict(list)
    for file in sorted(_sql_files(root, paths) - known):
        text = (root / file).read_text(encoding="utf-8", errors="replace").removeprefix("\ufeff")
        by_directory[file.rpartition("/")[0]].append(parse_migration(file, text))
    return [
        Unit(None, tuple(sorted(group, key=_order))) for _, group in sorted(by_directory.items())
    ]


def _order(parsed: Migration | ParsedMigration) -> tuple[int, str]:
    name = parse_name(parsed.file.rsplit("/", 1)[-1])
    return (name.number if name else -1, parsed.file)


def _sql_files(root: Path, paths: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        target = root / path
        if target.is_file():
            found.update([path] if path.lower().endswith(".sql") else [])
            continue
        for directory, subdirs, files in os.walk(target):
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
            base = Path(directory).relative_to(root).as_posix()
            found.update(
                f"{base}/{f}" if base != "." else f
                for f in files
                # regular files only: a FIFO named *.sql would block the read forever
                if f.lower().endswith(".sql") and os.path.isfile(os.path.join(directory, f))
            )
    return found
