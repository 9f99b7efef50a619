"""Migration file names: ``NNNN_description.sql`` with any number of digits."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME_RE = re.compile(r"^(?P<number>\d+)(?P<sep>[_-])(?P<description>.+)\.sql$", re.IGNORECASE)
SNAKE_RE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


@dataclass(frozen=True)
class ParsedName:
    """The parts of a migration file name."""

    number: int
    digits: int
    separator: str
    description: str

    @property
    def canonical(self) -> str:
        """The 4-digit form: ``009_user_plugins.sql`` -> ``0009_user_plugins``."""
        return f"{self.number:04d}_{self.description}"


def parse_name(filename: str) -> ParsedName | None:
    """Parse a migration file name; ``None`` when it has no numeric prefix."""
    match = _NAME_RE.match(filename)
    if match is None:
        return None
    digits = match.group("number")
    return ParsedName(int(digits), len(digits), match.group("sep"), match.group("description"))


def canonical_of(name: str) -> str:
    """Canonical identity of a ledger name or file name (``.sql`` optional, any digits).

    A nested name (``migrations_pattern``) numbered on its first segment keeps its path:
    ``000_init/migration.sql`` -> ``0000_init/migration``; an unnumbered nested name is its
    path without ``.sql``.
    """
    if "/" in name:
        whole = parse_name(name if name.lower().endswith(".sql") else name + ".sql")
        if whole is not None:
            return whole.canonical
        last = name.rsplit("/", 1)[-1]
        if parse_name(last if last.lower().endswith(".sql") else last + ".sql") is None:
            return name.removesuffix(".sql")
    base = name.rsplit("/", 1)[-1]
    parsed = parse_name(base if base.lower().endswith(".sql") else base + ".sql")
    return parsed.canonical if parsed else base.removesuffix(".sql")


def is_snake_case(description: str) -> bool:
    """True for lowercase snake case: ``add_user_plugins``."""
    return SNAKE_RE.match(description) is not None
