"""``migrations_pattern`` globs as wrangler (>= 4.98) reads them with minimatch ``dot: false``.

A pattern is relative to ``migrations_dir`` and split on ``/``. ``*``, ``?`` and ``[...]``
match within one segment, case-sensitively; ``**`` matches any number of segments. A
wildcard never matches a name that starts with a dot (only a literal dot does), and only
regular files count (symlinks are skipped, as wrangler's ``Dirent.isFile()`` does).
Brace sets (``{a,b}``) are not supported.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

_LEADING_NUMBER = re.compile(r"^\d+")


def _segment(pattern: str, name: str) -> bool:
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)


def matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Whether the path segments match the pattern segments."""
    if not pattern:
        return not path
    if pattern[0] == "**":
        if matches(pattern[1:], path):
            return True
        return bool(path) and not path[0].startswith(".") and matches(pattern, path[1:])
    return bool(path) and _segment(pattern[0], path[0]) and matches(pattern[1:], path[1:])


def could_contain(pattern: tuple[str, ...], directory: tuple[str, ...]) -> bool:
    """Whether a file under ``directory`` could match (minimatch's ``partial``): prunes the walk."""
    if not directory:
        return True
    if not pattern:
        return False
    if pattern[0] == "**":
        return not directory[0].startswith(".")
    return _segment(pattern[0], directory[0]) and could_contain(pattern[1:], directory[1:])


def path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """wrangler's order: segment by segment, numbered (leading integer) first, then by name."""
    key = []
    for segment in path.split("/"):
        number = _LEADING_NUMBER.match(segment.split("_", 1)[0])
        key.append((0, int(number.group()), segment) if number else (1, 0, segment))
    return tuple(key)


def find_files(directory: Path, pattern: str) -> list[str]:
    """Regular files under ``directory`` matching ``pattern``, relative, in wrangler's order."""
    parts = tuple(p for p in pattern.split("/") if p)
    found: list[str] = []
    stack: list[tuple[Path, tuple[str, ...]]] = [(directory, ())]
    while stack:
        here, rel = stack.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:
            continue
        for entry in entries:
            child = (*rel, entry.name)
            if entry.is_dir(follow_symlinks=False):
                if could_contain(parts, child):
                    stack.append((Path(entry.path), child))
            elif entry.is_file(follow_symlinks=False) and matches(parts, child):
                found.append("/".join(child))
    return sorted(found, key=path_key)
