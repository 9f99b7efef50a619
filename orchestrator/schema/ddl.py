"""SQL text for generated migrations: guarded CREATEs, renamed tables, the standard
header, and where the next migration file goes.

Identifiers are always quoted with ``quote_identifier``; names come from the
shadow schema (SQLite's own catalogue), never from free text.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.checks.schema import SchemaSnapshot
from orchestrator.engines.ledger import quote_identifier
from orchestrator.errors import UsageError
from orchestrator.model import Database
from orchestrator.sqltext import Kind, Token, tokenize

q = quote_identifier


@dataclass(frozen=True)
class Block:
    """One step of a generated migration: comment lines, then statements."""

    comments: tuple[str, ...]
    statements: tuple[str, ...]


# Anything that could end a line comment (SQL ``--`` ends at a newline; JS ``//`` also at
# CR, U+2028, U+2029) or a block comment (``*/``), plus other control characters.
_COMMENT_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]|\*/")


def comment_text(text: str) -> str:
    """``text`` made safe inside a generated comment: it can never end the comment.

    A name or title with a newline would otherwise leave the comment and become a
    live statement of the generated file. Line breaks and controls show as ``\\n``,
    ``\\xNN`` or ``\\uNNNN``; ``*/`` as ``*\\/``.
    """
    return _COMMENT_BREAKERS.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    char = found.group()
    if char == "*/":
        return "*\\/"
    if char == "\n":
        return "\\n"
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def render_blocks(blocks: Sequence[Block]) -> str:
    """The body of a migration: numbered steps, each its comments then its statements."""
    parts = []
    for number, block in enumerate(blocks, 1):
        first, *rest = block.comments or ("",)
        comments = [f"Step {number}: {first}", *rest]
        lines = [f"-- {comment_text(c)}" if c else "--" for c in comments]
        lines += [s.rstrip().rstrip(";") + ";" for s in block.statements]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class Header:
    """The strategy document's header fields."""

    number: int
    title: str
    purpose: str
    context: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    verification: tuple[str, ...] = ()
    created: str = ""


def render_header(header: Header) -> str:
    """``-- Migration: NNNN - Title`` … ``-- Verification:`` with its queries."""
    created = comment_text(header.created or datetime.date.today().isoformat())
    c = comment_text
    lines = [
        f"-- Migration: {header.number:04d} - {c(header.title)}",
        f"-- Created: {created}",
        f"-- Purpose: {c(header.purpose)}",
    ]
    for index, text in enumerate(header.context):
        lines.append(f"-- Context: {c(text)}" if index == 0 else f"--          {c(text)}")
    lines += ["--", "-- Changes:", *[f"-- - {c(x)}" for x in header.changes], "--"]
    lines += ["-- Verification:", *[f"-- {c(v)}" for v in header.verification]]
    return "\n".join(lines) + "\n\n"


def guarded(sql: str) -> str:
    """``CREATE [UNIQUE] INDEX|VIEW|TRIGGER|TABLE`` with ``IF NOT EXISTS`` (added when absent)."""
    code = [t for t in tokenize(sql) if t.is_code]
    position = _object_word(code)
    if position is None or _has_guard(code, position):
        return sql
    cut = code[position].start + len(code[position].text)
    return f"{sql[:cut]} IF NOT EXISTS{sql[cut:]}"


def _object_word(code: list[Token]) -> int | None:
    for index, token in enumerate(code[:4]):
        if token.is_word("TABLE", "INDEX", "VIEW", "TRIGGER"):
            return index
    return None


def _has_guard(code: list[Token], position: int) -> bool:
    words = [t.upper for t in code[position + 1 : position + 4]]
    return words == ["IF", "NOT", "EXISTS"]


def renamed_create(sql: str, name: str) -> str:
    """A ``CREATE TABLE`` statement with its table called ``name`` (guard removed)."""
    code = [t for t in tokenize(sql) if t.is_code]
    position = _object_word(code)
    if position is None:
        raise UsageError("not a CREATE TABLE statement")
    first = position + (4 if _has_guard(code, position) else 1)
    last = first + 2 if len(code) > first + 2 and code[first + 1].text == "." else first
    if last >= len(code) or code[last].kind not in (Kind.IDENT, Kind.QUOTED, Kind.STRING):
        raise UsageError("the CREATE TABLE statement names no table")
    begin, end = (
        code[position].start + len(code[position].text),
        code[last].start + len(code[last].text),
    )
    return f"{sql[:begin]} {q(name)}{sql[end:]}"


def taken_names(schema: SchemaSnapshot) -> set[str]:
    """Lower-case names of every table, index, view and trigger of ``schema``."""
    names = {t.name.lower() for t in schema.tables} | {o.name.lower() for o in schema.others}
    return names | {i.name.lower() for t in schema.tables for i in t.indexes}


def unused_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3`` … whichever the schema does not use yet."""
    name, suffix = base, 2
    while name.lower() in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    return name


def next_number(database: Database) -> int:
    """One more than the highest migration number of every source feeding ``database``."""
    return max((m.number for m in database.migrations if m.numbered), default=0) + 1


def migration_file(source: str, number: int, description: str) -> str:
    """``packages/x/migrations/0013_recreate_templates.sql`` (root-relative)."""
    name = f"{number:04d}_{description}.sql"
    return name if source == "." else f"{source}/{name}"


@dataclass(frozen=True)
class Generated:
    """A migration orchestrate generated: where it goes (root-relative), its text, notes
    for the reader, and what ``orchestrate check`` would call an error in it."""

    database: str
    file: str
    text: str
    notes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def sql_string(text: str) -> str:
    """A SQL string literal (for the verification queries of a header)."""
    return "'" + text.replace("'", "''") + "'"
