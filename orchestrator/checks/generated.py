"""Which migrations a tool generated: drizzle-kit (its ``--> statement-breakpoint``
markers, or a ``meta/_journal.json`` beside the files) and ``prisma migrate diff``
(its ``-- CreateTable``-style section comments). Such files are exempt from the
style rules by default, never from the D1 hazard rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

DRIZZLE_MARKER = "--> statement-breakpoint"
_PRISMA_SECTION = re.compile(
    r"^-- (CreateTable|CreateIndex|AlterTable|DropTable|DropIndex|RedefineTables|RedefineIndex"
    r"|RenameIndex|AddForeignKey|DropForeignKey)\s*$",
    re.MULTILINE,
)


def generator_of(sql: str) -> str | None:
    """``"drizzle-kit"``, ``"prisma"`` or None, from the text of one migration."""
    if DRIZZLE_MARKER in sql:
        return "drizzle-kit"
    first = next((line for line in sql.splitlines() if line.strip()), "")
    if _PRISMA_SECTION.match(first.strip()):
        return "prisma"
    return None


def has_drizzle_journal(root: Path, file: str) -> bool:
    """True when drizzle-kit's journal sits in the migration's directory."""
    return (root / PurePosixPath(file).parent / "meta" / "_journal.json").is_file()


def generated_files(sources: Mapping[str, str], root: Path | None = None) -> frozenset[str]:
    """The files (of ``{file: sql}``) that drizzle-kit or prisma generated."""
    return frozenset(
        file
        for file, sql in sources.items()
        if generator_of(sql) or (root is not None and has_drizzle_journal(root, file))
    )
