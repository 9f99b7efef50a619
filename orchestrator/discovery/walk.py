"""Walk a workspace: find wrangler configs and migration directories.

Skips VCS, dependency and build directories, and whatever ``.gitignore`` files
(at any depth) ignore.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

import pathspec

from orchestrator.errors import ConfigError
from orchestrator.settings import read_config_bytes

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        "node_modules",
        ".wrangler",
        "dist",
        "build",
        "out",
        ".output",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        ".cache",
        ".vercel",
        ".netlify",
        "coverage",
        ".venv",
        "venv",
        "__pycache__",
    }
)
# Wrangler's own order of preference when one directory holds several configs.
CONFIG_NAMES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")


@dataclass(frozen=True)
class Tree:
    """What the walk found, as paths relative to the root with ``/`` separators."""

    configs: tuple[str, ...]
    shadowed: tuple[tuple[str, str], ...]
    migration_dirs: tuple[str, ...]
    ignored: tuple[str, ...] = ()  # configs .gitignore hides (and include_ignored does not name)


@dataclass(frozen=True)
class _Ignore:
    base: str
    spec: pathspec.GitIgnoreSpec

    def ignores(self, rel: str, is_dir: bool) -> bool:
        inner = rel[len(self.base) + 1 :] if self.base else rel
        return self.spec.match_file(inner + "/" if is_dir else inner)


def walk_tree(
    root: Path,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    include_ignored: tuple[str, ...] = (),
) -> Tree:
    """Find configs and ``migrations`` directories under ``root``."""
    configs: list[str] = []
    hidden: list[str] = []
    shadowed: list[tuple[str, str]] = []
    migration_dirs: list[str] = []
    ignores: dict[str, tuple[_Ignore, ...]] = {"": _read_ignore(root, "", ())}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = _relative(root, dirpath)
        active = ignores[rel]
        dirnames[:] = sorted(d for d in dirnames if _keep_dir(rel, d, active, exclude))
        for name in dirnames:
            child = _join(rel, name)
            ignores[child] = _read_ignore(root, child, active)
        present = []
        for name in (n for n in CONFIG_NAMES if n in filenames):
            path = _join(rel, name)
            if not _ignored(rel, name, active) or _matches(path, include_ignored):
                present.append(name)
            else:
                hidden.append(path)
        if present and _included(rel, include):
            chosen = _join(rel, present[0])
            configs.append(chosen)
            shadowed.extend((chosen, _join(rel, other)) for other in present[1:])
        if os.path.basename(dirpath) == "migrations" and any(f.endswith(".sql") for f in filenames):
            migration_dirs.append(rel)
    return Tree(tuple(configs), tuple(shadowed), tuple(migration_dirs), tuple(hidden))


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _keep_dir(rel: str, name: str, active: tuple[_Ignore, ...], exclude: tuple[str, ...]) -> bool:
    if name in SKIP_DIRS:
        return False
    child = _join(rel, name)
    if any(fnmatch.fnmatch(child, pattern.rstrip("/")) for pattern in exclude):
        return False
    return not any(ignore.ignores(child, True) for ignore in active)


def _ignored(rel: str, name: str, active: tuple[_Ignore, ...]) -> bool:
    return any(ignore.ignores(_join(rel, name), False) for ignore in active)


def _included(rel: str, include: tuple[str, ...]) -> bool:
    if not include:
        return True
    return any(
        fnmatch.fnmatch(rel, p.rstrip("/")) or rel.startswith(p.rstrip("/*") + "/") for p in include
    )


def _read_ignore(root: Path, rel: str, inherited: tuple[_Ignore, ...]) -> tuple[_Ignore, ...]:
    path = root / rel / ".gitignore"
    if not os.path.lexists(path):
        return inherited
    try:
        data = read_config_bytes(path)  # a FIFO never blocks the walk
    except ConfigError:
        return inherited
    lines = data.decode("utf-8", errors="replace").splitlines()
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return (*inherited, _Ignore(rel, spec))


def _relative(root: Path, dirpath: str) -> str:
    rel = os.path.relpath(dirpath, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


def _join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name
