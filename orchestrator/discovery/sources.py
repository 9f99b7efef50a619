"""Read one migrations directory: names, contents and checksums."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.discovery.naming import ParsedName, parse_name
from orchestrator.discovery.pattern import find_files
from orchestrator.model import NO_NUMBER, Migration, Problem, Severity
from orchestrator.settings import file_kind


@dataclass(frozen=True)
class Source:
    """The migrations of one directory, and the problems found reading it."""

    path: str
    migrations: tuple[Migration, ...]
    problems: tuple[Problem, ...]
    exists: bool = True
    nested: str = ""  # with no migration at the top: a nested file (drizzle-kit's layout)


def checksum(data: bytes) -> str:
    """``sha256:`` of the content with line endings normalized to ``\\n``."""
    normalized = data.replace(b"\r\n", b"\n")
    return "sha256:" + hashlib.sha256(normalized).hexdigest()


def read_source(root: Path, source: str, package: str, pattern: str = "") -> Source:
    """Read every ``*.sql`` file directly inside ``source`` (other files are ignored).

    With a ``migrations_pattern`` (relative to ``source``), read what it matches at any
    depth instead; each file's name is its path relative to ``source``.
    """
    directory = root / source
    if pattern:
        if not directory.is_dir():
            return Source(source, (), (), exists=False)
        return _read_files(directory, source, package, find_files(directory, pattern))
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return Source(source, (), (), exists=False)
    except OSError as exc:
        problem = Problem(Severity.ERROR, "source.unreadable", f"cannot list: {exc}", source)
        return Source(source, (), (problem,))
    names = sorted(e.name for e in entries if _is_migration(e))
    read = _read_files(directory, source, package, names)
    if not names:
        nested = find_files(directory, "*/*.sql")[:1]
        read = replace(read, nested=f"{source}/{nested[0]}" if nested else "")
    skipped = tuple(_skipped(source, e) for e in sorted(entries, key=lambda e: e.name))
    return replace(read, problems=read.problems + tuple(p for p in skipped if p is not None))


def _is_migration(entry: os.DirEntry[str]) -> bool:
    """As wrangler: a regular file (not a symlink), no dotfile, ending in lower-case ``.sql``."""
    return (
        entry.name.endswith(".sql")
        and not entry.name.startswith(".")
        and entry.is_file(follow_symlinks=False)
    )


def _skipped(source: str, entry: os.DirEntry[str]) -> Problem | None:
    """An info line for a file that looks like a migration but wrangler never applies."""
    if _is_migration(entry) or not entry.name.lower().endswith(".sql"):
        return None
    if entry.is_symlink():
        why = "a symlink"
    elif entry.name.startswith("."):
        why = "a dotfile"
    elif not entry.name.endswith(".sql"):
        why = "not lower-case .sql"
    elif not entry.is_dir(follow_symlinks=False):
        why = file_kind(entry.stat(follow_symlinks=False).st_mode)  # a FIFO is never opened
    else:
        return None  # a directory named *.sql
    file = f"{source}/{entry.name}" if source != "." else entry.name
    message = f"skipped: {why}, which wrangler never applies"
    return Problem(Severity.INFO, "source.skipped", message, file)


def _read_files(directory: Path, source: str, package: str, names: list[str]) -> Source:
    migrations: list[Migration] = []
    problems: list[Problem] = []
    short: list[str] = []
    by_number: dict[int, str] = {}
    folder = os.fspath(directory)  # joined by hand: os.path.join cost 5 µs a file
    for name in names:
        file = f"{source}/{name}" if source != "." else name
        parsed = parse_name(name) if name.endswith(".sql") else None
        if parsed is None:
            problems.append(_no_number(file))
            parsed = ParsedName(NO_NUMBER, 0, "", name.removesuffix(".sql"))
        else:
            problems.extend(_name_problems(parsed, file, by_number, short))
        path = f"{folder}/{name}"
        migration = _read_migration(path, file, source, package, parsed, problems)
        if migration is not None:
            migrations.append(migration)
    if short:
        problems.append(_short_prefixes(source, short))
    return Source(source, tuple(migrations), tuple(problems))


def _name_problems(
    parsed: ParsedName, file: str, by_number: dict[int, str], short: list[str]
) -> list[Problem]:
    problems = []
    if parsed.number in by_number:
        message = (
            f"number {parsed.number} is used twice in this directory: "
            f"{by_number[parsed.number]} and {file}; both are applied, by number then name "
            "(as wrangler does)"
        )
        problems.append(Problem(Severity.WARNING, "naming.duplicate", message, file))
    by_number.setdefault(parsed.number, file)
    if parsed.separator == "-":
        message = (
            "a dash separates the number from the description; write `_` (wrangler accepts both)"
        )
        problems.append(Problem(Severity.WARNING, "naming.dash", message, file))
    if parsed.digits < 4:
        short.append(file)
    return problems


def _read_migration(
    path: str, file: str, source: str, package: str, parsed: ParsedName, problems: list[Problem]
) -> Migration | None:
    try:
        # One read, no buffer object; non-blocking, should a FIFO take the file's place.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb", buffering=0) as handle:
            data = handle.read()
    except OSError as exc:
        problems.append(
            Problem(Severity.ERROR, "source.unreadable", f"cannot read: {exc.strerror}", file)
        )
        return None
    try:
        sql = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        problems.append(Problem(Severity.ERROR, "source.encoding", message, file, line))
        return None
    return Migration(
        number=parsed.number,
        description=parsed.description,
        file=file,
        source=source,
        package=package,
        checksum=checksum(data),
        sql=sql.removeprefix("\ufeff"),
    )


def _no_number(file: str) -> Problem:
    message = (
        "no numeric prefix: applied after the numbered migrations, in name order (as wrangler "
        "does); name it NNNN_description.sql to place it"
    )
    return Problem(Severity.WARNING, "naming.unnumbered", message, file)


def _short_prefixes(source: str, files: list[str]) -> Problem:
    count = len(files)
    message = (
        f"{count} file{'s' if count != 1 else ''} use fewer than 4 digits "
        f"(e.g. {files[0].rsplit('/', 1)[-1]}); run `orchestrate normalize`"
    )
    return Problem(Severity.WARNING, "naming.short-prefix", message, source)
