"""Which schema objects a migration creates and which it refers to.

Read from SQLite tokens (never from raw text), so names in comments and strings
do not count. Used to infer ordering edges between packages that feed one database.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.sqltext import Kind, Statement, Token, split_statements

_OBJECT_WORDS = ("TABLE", "INDEX", "VIEW", "TRIGGER")
# Words after which the next name is a table the statement reads or writes.
_TABLE_AFTER = ("REFERENCES", "INTO", "FROM", "JOIN", "UPDATE", "ON", "TABLE")
_SKIP = ("IF", "NOT", "EXISTS", "OR", "ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE", "ONLY")
# Bare words that follow those above without being names (``ON DELETE CASCADE``).
_NOT_NAMES = frozenset(
    [
        "DELETE",
        "UPDATE",
        "INSERT",
        "CONFLICT",
        "CASCADE",
        "SET",
        "NULL",
        "RESTRICT",
        "NO",
        "ACTION",
        "DEFAULT",
        "SELECT",
        "VALUES",
        "WHERE",
        "EACH",
        "ROW",
        "BEGIN",
        "AS",
        "AFTER",
        "BEFORE",
        "INSTEAD",
        "OF",
        "FOR",
        "WITH",
    ]
)


@dataclass(frozen=True)
class ObjectRefs:
    """Names (lower-case, unqualified) created and referenced by some SQL."""

    created: frozenset[str]
    referenced: frozenset[str]


def object_refs(sql: str) -> ObjectRefs:
    """Collect created and referenced object names over every statement of ``sql``."""
    created: set[str] = set()
    referenced: set[str] = set()
    for statement in split_statements(sql):
        made, used = statement_refs(statement)
        created |= made
        referenced |= used
    return ObjectRefs(frozenset(created), frozenset(referenced - created))


def statement_refs(statement: Statement) -> tuple[set[str], set[str]]:
    """Created and referenced names of one statement."""
    tokens = statement.tokens
    created: set[str] = set()
    referenced: set[str] = set()
    words = statement.words
    if words[:1] == ("CREATE",):
        name = created_name(tokens)
        if name:
            created.add(name)
    if words[:2] == ("ALTER", "TABLE") and "RENAME" in words and "TO" in words:
        target = name_at(tokens, words.index("TO") + 1)
        if target and "COLUMN" not in words and words[words.index("RENAME") + 1] == "TO":
            created.add(target)
    for index, token in enumerate(tokens):
        if token.kind is Kind.IDENT and token.upper in _TABLE_AFTER:
            name = name_at(tokens, index + 1)
            if name and name not in created:
                referenced.add(name)
    return created, referenced


def created_name(tokens: tuple[Token, ...]) -> str | None:
    """The name a ``CREATE …`` statement defines, if it is a table, index, view or trigger."""
    for index, token in enumerate(tokens[:5]):
        if token.kind is Kind.IDENT and token.upper in _OBJECT_WORDS:
            return name_at(tokens, index + 1)
    return None


def name_at(tokens: tuple[Token, ...], index: int) -> str | None:
    """The (possibly schema-qualified) name starting at ``index``, skipping IF [NOT] EXISTS."""
    while index < len(tokens) and tokens[index].kind is Kind.IDENT and tokens[index].upper in _SKIP:
        index += 1
    if index >= len(tokens) or tokens[index].kind not in (Kind.IDENT, Kind.QUOTED, Kind.STRING):
        return None
    if tokens[index].kind is Kind.IDENT and tokens[index].upper in _NOT_NAMES:
        return None
    name = tokens[index].name
    if index + 2 < len(tokens) and tokens[index + 1].text == ".":
        name = tokens[index + 2].name
    return name
