"""What one SQL statement does, read from SQLite tokens (never from raw text).

``shape_of`` classifies a statement (verb, object, target name, IF [NOT] EXISTS,
ALTER action, INSERT conflict clause …). Column definitions live in ``columns``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from orchestrator.sqltext import Kind, Statement, Token

OBJECTS = ("TABLE", "INDEX", "VIEW", "TRIGGER")
_NAME_KINDS = (Kind.IDENT, Kind.QUOTED, Kind.STRING)
_DML = ("INSERT", "REPLACE", "UPDATE", "DELETE", "SELECT")


@dataclass(frozen=True)
class Shape:
    """The parts of a statement the rules look at; names are lower-case and unqualified."""

    verb: str
    object: str = ""
    name: str | None = None
    if_clause: bool = False
    temp: bool = False
    virtual: bool = False
    action: str = ""
    column: str | None = None
    new_name: str | None = None
    on_table: str | None = None
    conflict: str = ""
    source: str = ""
    upsert: bool = False
    copy_from: str | None = None
    select_star: bool = False
    schema: str | None = None
    columns: tuple[str, ...] = ()

    def is_create(self, obj: str = "TABLE") -> bool:
        """``CREATE <obj> …`` (a table by default)."""
        return self.verb == "CREATE" and self.object == obj

    def is_drop(self, obj: str = "TABLE") -> bool:
        """``DROP <obj> …`` (a table by default)."""
        return self.verb == "DROP" and self.object == obj


def shape_of(statement: Statement) -> Shape:
    """Classify one statement.

    Two shapes are read from the text alone, without tokenizing the statement: a plain
    ``INSERT [OR x] INTO name (columns) VALUES …`` (the rows of a large seed) and a
    statement whose verb has no parser here. Anything else they do not match exactly
    (comments, quoted or qualified names, a ``CONFLICT`` anywhere) goes through the
    tokens; a property test holds both paths equal.
    """
    quick, _ = _quick_shape(statement.text)
    return quick if quick is not None else token_shape(statement)


def shapes_of(statements: Iterable[Statement]) -> tuple[Shape, ...]:
    """``shape_of`` of each statement, in order.

    A seed repeats one INSERT head thousands of times, so a statement that begins with
    the previous plain INSERT's head (``INSERT INTO t (a, b) VALUES``), followed by a
    character that cannot continue the word VALUES, has that statement's shape without
    matching the pattern again: the pattern's match depends on the head's characters
    alone, and on that next one.
    """
    shapes: list[Shape] = []
    head, last = "", None
    for statement in statements:
        text = statement.text
        if (
            last is not None
            and text.startswith(head)
            and _ends_word(text, len(head))
            and "CONFLICT" not in text.upper()
        ):
            shapes.append(last)
            continue
        quick, head = _quick_shape(text)
        last = quick if head else None
        shapes.append(quick if quick is not None else token_shape(statement))
    return tuple(shapes)


_WORD_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")


def _ends_word(text: str, at: int) -> bool:
    """``_PLAIN_INSERT``'s closing lookahead: a character follows ``at``, and SQLite would
    not read it as part of the word before it."""
    if at >= len(text):
        return False
    char = text[at]
    return char not in _WORD_ASCII and not "\u0080" <= char <= "\uffff"


# ASCII-only and case-insensitive: each word below is exactly one IDENT token.
_PLAIN_INSERT = re.compile(
    r"INSERT\s+(?:OR\s+(ABORT|FAIL|IGNORE|REPLACE|ROLLBACK)\s+)?INTO\s+([A-Za-z_][A-Za-z0-9_]*)\s*"
    r"\(\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*\)\s*"
    r"VALUES(?![A-Za-z0-9_$\u0080-\uffff]|\Z)",
    re.ASCII | re.IGNORECASE,
)
# Never at the very end: the text is stripped of trailing (Unicode) spaces, and U+00A0
# and its kind are identifier characters to SQLite, so the word may go on there.
_LEADING_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t\n\r(;]", re.ASCII)
_COLUMN_SEPARATOR = re.compile(r"\s*,\s*", re.ASCII)


def _quick_shape(text: str) -> tuple[Shape | None, str]:
    """The shape read from the text alone (None: read the tokens), and for a plain INSERT
    its head, up to and including VALUES ("" otherwise)."""
    word = _LEADING_WORD.match(text)
    if word is None:
        return None, ""
    verb = word.group(1).upper()
    if verb == "INSERT":
        plain = _PLAIN_INSERT.match(text)
        if plain is None or "CONFLICT" in text.upper():  # an upsert, perhaps: read the tokens
            return None, ""
        return _plain_insert(*plain.groups()), plain.group()
    if verb in _PARSERS or verb == "WITH":
        return None, ""
    return _verb_only(verb), ""


# A seed repeats one INSERT head thousands of times: build its (immutable) shape once.
@functools.lru_cache(maxsize=1024)
def _plain_insert(conflict: str | None, name: str, columns: str) -> Shape:
    return Shape(
        verb="INSERT",
        name=name.lower(),
        conflict=(conflict or "").upper(),
        source="VALUES",
        columns=tuple(c.lower() for c in _COLUMN_SEPARATOR.split(columns)),
    )


@functools.lru_cache(maxsize=256)
def _verb_only(verb: str) -> Shape:
    return Shape(verb=verb)


def token_shape(statement: Statement) -> Shape:
    """Classify one statement from its tokens (``shape_of`` without its shortcuts)."""
    tokens = _skip_with(statement.tokens)
    if not tokens:
        return Shape(verb="")
    verb = tokens[0].upper if tokens[0].kind is Kind.IDENT else tokens[0].text
    parse = _PARSERS.get(verb)
    return parse(tokens) if parse else Shape(verb=verb)


def _skip_with(tokens: tuple[Token, ...]) -> tuple[Token, ...]:
    """Drop a leading ``WITH … AS (…)`` so the DML verb comes first."""
    if not tokens or not tokens[0].is_word("WITH"):
        return tokens
    depth = 0
    for index, token in enumerate(tokens):
        depth += _depth_change(token)
        if depth == 0 and token.kind is Kind.IDENT and token.upper in _DML:
            return tokens[index:]
    return tokens


def _depth_change(token: Token) -> int:
    if token.kind is not Kind.OP:
        return 0
    return 1 if token.text == "(" else -1 if token.text == ")" else 0


def name_at(tokens: tuple[Token, ...], index: int) -> tuple[str | None, str | None, int]:
    """``(schema, name, next index)`` of a possibly qualified name at ``index``."""
    if index >= len(tokens) or tokens[index].kind not in _NAME_KINDS:
        return None, None, index
    if index + 2 < len(tokens) and tokens[index + 1].text == ".":
        return tokens[index].name, tokens[index + 2].name, index + 3
    return None, tokens[index].name, index + 1


def words_at(tokens: tuple[Token, ...], index: int, *words: str) -> bool:
    """True when the bare words ``words`` appear in order from ``index``."""
    if index + len(words) > len(tokens):
        return False
    return all(tokens[index + k].is_word(w) for k, w in enumerate(words))


def _create(tokens: tuple[Token, ...]) -> Shape:
    index, temp, virtual = 1, False, False
    while index < len(tokens) and tokens[index].is_word("TEMP", "TEMPORARY", "UNIQUE", "VIRTUAL"):
        temp = temp or tokens[index].is_word("TEMP", "TEMPORARY")
        virtual = virtual or tokens[index].is_word("VIRTUAL")
        index += 1
    obj = tokens[index].upper if index < len(tokens) else ""
    index += 1
    guarded = words_at(tokens, index, "IF", "NOT", "EXISTS")
    schema, name, after = name_at(tokens, index + 3 if guarded else index)
    temp = temp or schema == "temp"
    on_table = _on_table(tokens, after) if obj in ("INDEX", "TRIGGER") else None
    copy = _select_from(tokens, after) if obj == "TABLE" else None
    return Shape(
        verb="CREATE",
        object=obj,
        name=name,
        if_clause=guarded,
        temp=temp,
        virtual=virtual,
        on_table=on_table,
        copy_from=copy,
        source="SELECT" if copy else "",
        schema=schema,
    )


def _on_table(tokens: tuple[Token, ...], index: int) -> str | None:
    for position in range(index, len(tokens)):
        if tokens[position].is_word("ON"):
            return name_at(tokens, position + 1)[1]
        if tokens[position].is_word("BEGIN") or tokens[position].text == "(":
            break
    return None


def _drop(tokens: tuple[Token, ...]) -> Shape:
    obj = tokens[1].upper if len(tokens) > 1 else ""
    guarded = words_at(tokens, 2, "IF", "EXISTS")
    schema, name, _ = name_at(tokens, 4 if guarded else 2)
    return Shape(verb="DROP", object=obj, name=name, if_clause=guarded, schema=schema)


def _alter(tokens: tuple[Token, ...]) -> Shape:
    schema, name, index = name_at(tokens, 2)
    base = Shape(verb="ALTER", object="TABLE", name=name, schema=schema)
    if words_at(tokens, index, "RENAME", "TO"):
        return replace(base, action="RENAME TABLE", new_name=name_at(tokens, index + 2)[1])
    if words_at(tokens, index, "RENAME"):
        skip = index + (2 if words_at(tokens, index + 1, "COLUMN") else 1)
        column = name_at(tokens, skip)[1]
        target = name_at(tokens, skip + 2)[1]
        return replace(base, action="RENAME COLUMN", column=column, new_name=target)
    for verb in ("ADD", "DROP"):
        if words_at(tokens, index, verb):
            skip = index + (2 if words_at(tokens, index + 1, "COLUMN") else 1)
            form = f"{verb} COLUMN" if _is_column_word(tokens, skip) else f"{verb} OTHER"
            return replace(base, action=form, column=name_at(tokens, skip)[1])
    return replace(base, action="OTHER")


def _is_column_word(tokens: tuple[Token, ...], index: int) -> bool:
    # ``ADD CONSTRAINT``/``ADD PRIMARY KEY`` are other databases' syntax, refused by SQLite.
    if index >= len(tokens):
        return False
    return not tokens[index].is_word("CONSTRAINT", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK")


def _insert(tokens: tuple[Token, ...]) -> Shape:
    index, conflict = 1, "REPLACE" if tokens[0].is_word("REPLACE") else ""
    if words_at(tokens, index, "OR"):
        conflict = tokens[index + 1].upper if index + 1 < len(tokens) else ""
        index += 2
    if words_at(tokens, index, "INTO"):
        index += 1
    schema, name, after = name_at(tokens, index)
    columns = _column_list(tokens, after)
    source = _insert_source(tokens, after)
    copy = _select_from(tokens, after) if source == "SELECT" else None
    star = source == "SELECT" and _selects_star(tokens, after)
    upsert = any(
        t.is_word("ON") and words_at(tokens, i + 1, "CONFLICT") for i, t in enumerate(tokens)
    )
    return Shape(
        verb="INSERT",
        name=name,
        conflict=conflict,
        source=source,
        upsert=upsert,
        copy_from=copy,
        select_star=star,
        schema=schema,
        columns=columns,
    )


def _column_list(tokens: tuple[Token, ...], index: int) -> tuple[str, ...]:
    """The ``(a, b)`` column list right after an INSERT's table name."""
    if index >= len(tokens) or tokens[index].text != "(":
        return ()
    names: list[str] = []
    for token in tokens[index + 1 :]:
        if token.text == ")":
            break
        if token.kind in _NAME_KINDS:
            names.append(token.name)
    return tuple(names)


def _insert_source(tokens: tuple[Token, ...], index: int) -> str:
    depth = 0
    for token in tokens[index:]:
        depth += _depth_change(token)
        if depth == 0 and token.is_word("VALUES", "SELECT", "DEFAULT", "WITH"):
            return "SELECT" if token.upper == "WITH" else token.upper
    return ""


def _select_from(tokens: tuple[Token, ...], index: int) -> str | None:
    """The first table after a top-level ``FROM`` (the table a copy reads)."""
    depth = 0
    for position in range(index, len(tokens)):
        depth += _depth_change(tokens[position])
        if tokens[position].is_word("FROM") and depth <= 1:
            return name_at(tokens, position + 1)[1]
    return None


def _selects_star(tokens: tuple[Token, ...], index: int) -> bool:
    for position in range(index, len(tokens) - 1):
        if tokens[position].is_word("SELECT"):
            return tokens[position + 1].text == "*"
    return False


def _update(tokens: tuple[Token, ...]) -> Shape:
    index = 3 if words_at(tokens, 1, "OR") else 1
    schema, name, _ = name_at(tokens, index)
    return Shape(verb="UPDATE", name=name, schema=schema)


def _delete(tokens: tuple[Token, ...]) -> Shape:
    schema, name, _ = name_at(tokens, 2)
    return Shape(verb="DELETE", name=name, schema=schema)


def _pragma(tokens: tuple[Token, ...]) -> Shape:
    schema, name, index = name_at(tokens, 1)
    value = next((t.name for t in tokens[index:] if t.kind is not Kind.OP), None)
    return Shape(verb="PRAGMA", name=name, new_name=value, schema=schema)


_PARSERS = {
    "CREATE": _create,
    "DROP": _drop,
    "ALTER": _alter,
    "INSERT": _insert,
    "REPLACE": _insert,
    "UPDATE": _update,
    "DELETE": _delete,
    "PRAGMA": _pragma,
}
