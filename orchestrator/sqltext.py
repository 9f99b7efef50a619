"""SQLite-aware lexing: tokens with line numbers, and statement splitting.

The token rules follow SQLite's tokenizer (``tokenize.c``): comments, the four
quoting styles, blobs, numbers, parameters and operators. Statement ends are
confirmed with SQLite's own ``sqlite3_complete`` (``sqlite3.complete_statement``),
so trigger bodies (``BEGIN …; …; END``) stay whole and a ``;`` inside a string or
comment never splits anything.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple


class Kind(StrEnum):
    """Token classes; comments and spaces are kept so text can be rebuilt."""

    SPACE = "space"
    COMMENT = "comment"
    STRING = "string"
    IDENT = "ident"
    QUOTED = "quoted"
    NUMBER = "number"
    BLOB = "blob"
    PARAM = "param"
    SEMI = "semi"
    OP = "op"


# The code tokens' alternatives, shared by ``_TOKEN_RE`` and ``_CODE_RE`` in this order.
_CODE_ALTERNATIVES = r"""
    (?P<blob>[xX]'[0-9A-Fa-f]*')
  | (?P<string>'(?:[^']|'')*(?:'|\Z))
  | (?P<quoted>"(?:[^"]|"")*(?:"|\Z)|`(?:[^`]|``)*(?:`|\Z)|\[[^\]]*(?:\]|\Z))
  | (?P<number>0[xX][0-9A-Fa-f]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<param>\?\d*|[:@$][A-Za-z0-9_]+)
  | (?P<ident>[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)
  | (?P<semi>;)
  | (?P<op>\|\||<<|>>|<=|>=|==|!=|<>|->>|->|.)
"""
_SPACE = r"\s+"
_COMMENT = r"--[^\n]*|/\*(?:.|\n)*?(?:\*/|\Z)"

_TOKEN_RE = re.compile(
    rf"(?P<space>{_SPACE})|(?P<comment>{_COMMENT})|{_CODE_ALTERNATIVES}", re.VERBOSE
)

_KINDS = {k.value: k for k in Kind}

# A code token with the spaces and comments before it (``split_statements`` keeps only
# code tokens: building a token for every space and comment cost half its time). The
# skip is possessive, so at the end of the text, after the last code token, the match
# fails instead of re-reading a comment.
_CODE_RE = re.compile(rf"(?:{_SPACE}|{_COMMENT})*+(?:{_CODE_ALTERNATIVES})", re.VERBOSE)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token; ``line`` is 1-based, ``start`` an offset in the text."""

    kind: Kind
    text: str
    line: int
    start: int

    @property
    def upper(self) -> str:
        return self.text.upper()

    @property
    def is_code(self) -> bool:
        return self.kind not in (Kind.SPACE, Kind.COMMENT)

    @property
    def name(self) -> str:
        """The identifier this token spells, unquoted and lower-cased."""
        if self.kind is Kind.QUOTED:
            inner = self.text[1:-1]
            return inner.replace('""', '"').replace("``", "`").lower()
        if self.kind is Kind.STRING:
            return self.text[1:-1].replace("''", "'").lower()
        return self.text.lower()

    def is_word(self, *words: str) -> bool:
        """True when this is a bare word equal (case-insensitively) to one of ``words``."""
        return self.kind is Kind.IDENT and self.text.upper() in words


_TOKEN_SLOTS: tuple[Callable[[Token, Any], None], ...] = tuple(
    vars(Token)[name].__set__ for name in ("kind", "text", "line", "start")
)


def tokenize(sql: str) -> Iterator[Token]:
    """Yield every token of ``sql``, comments and spaces included."""
    line = 1
    for match in _TOKEN_RE.finditer(sql):
        text = match.group()
        kind = _KINDS[match.lastgroup or "op"]
        yield Token(kind, text, line, match.start())
        line += text.count("\n")


class Statement:
    """One SQL statement: its code tokens, its text and where it starts.

    The tokens are read on first use (most rules look only at the shape, and plain
    INSERTs of a large seed never need theirs): ``split_statements`` hands each
    statement its span of the file and the tokenizer runs over that span alone.
    """

    __slots__ = ("_source", "_stop", "_tokens", "line", "start", "text")

    def __init__(
        self,
        text: str,
        line: int,
        tokens: tuple[Token, ...] | None = None,
        start: int = 0,
        *,
        source: str | None = None,
        stop: int = -1,
    ) -> None:
        self.text = text
        self.line = line
        self.start = start
        self._tokens = tokens
        self._source = source  # the whole file, for tokens read on demand
        self._stop = stop  # offset of the ``;`` ending the statement (tokens stop before it)

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The statement's code tokens (the ``;`` ending it excluded)."""
        tokens = self._tokens
        if tokens is None:
            if self._source is None:  # built by hand from a text alone
                tokens = tuple(_code_tokens(self.text, 0, self.line))
            else:
                tokens = tuple(_code_tokens(self._source, self.start, self.line, self._stop))
            self._tokens = tokens
        return tokens

    def _key(self) -> tuple[str, int, tuple[Token, ...], int]:
        return (self.text, self.line, self.tokens, self.start)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Statement):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Statement(text={self.text!r}, line={self.line!r}, start={self.start!r})"

    @property
    def words(self) -> tuple[str, ...]:
        """Upper-cased code tokens, handy for matching statement shapes."""
        return tuple(t.upper for t in self.tokens)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def executable(self) -> str:
        """The text as wrangler >= 4.137 sends it: from the first token to the ``;``,
        comments inside kept (so ``sqlite_master`` matches; 4.86 dropped them)."""
        return self.text


# The last text ``upper_text`` upper-cased, and the result (the text itself is kept, so
# the identity test can never match another string).
_upper: tuple[str, str] = ("", "")


def upper_text(sql: str) -> str:
    """``sql.upper()``, remembered for the last text: the splitter and the shadow each ask
    whether a whole migration says TRIGGER or REPLACE anywhere (6 MB cost 8 ms a time)."""
    global _upper
    last, upper = _upper
    if last is not sql:
        upper = sql.upper()
        _upper = (sql, upper)
    return upper


def split_statements(sql: str) -> tuple[Statement, ...]:
    """Split ``sql`` into statements; comment-only text between them is dropped.

    One regular-expression match per statement finds the ends (as ``split_executable``
    does); a statement's tokens are read only when a rule asks for them.
    """
    statements: list[Statement] = []
    new = Statement
    for begin, stop, line in _spans(sql, _trigger_in_first_words):
        if stop < 0:  # the text ended inside the statement: it ends at its last token
            code = tuple(_code_tokens(sql, begin, line))
            last = code[-1]
            text = sql[begin : last.start + len(last.text)].rstrip()
            statements.append(new(text, line, code, begin))
        else:  # the text ends at the `;`: nothing to strip
            statements.append(new(sql[begin : stop + 1], line, None, begin, source=sql, stop=stop))
    return tuple(statements)


def _code_tokens(sql: str, position: int = 0, line: int = 1, stop: int = -1) -> Iterator[Token]:
    """``t for t in tokenize(sql) if t.is_code`` from ``position`` (on ``line``), without
    building the others; with ``stop``, only tokens that start before that offset."""
    counted = position
    match = _CODE_RE.match
    kinds = _KINDS
    # The frozen dataclass's __init__ sets each field through object.__setattr__; setting
    # the slots directly builds the same Token in half the time (a token a statement word).
    new = object.__new__
    set_kind, set_text, set_line, set_start = _TOKEN_SLOTS
    size = len(sql)
    if stop < 0:
        stop = size
    while position < size:
        found = match(sql, position)
        if found is None:  # only spaces and comments remain
            return
        group = found.lastindex or 0
        start = found.start(group)
        if start >= stop:
            return
        line += sql.count("\n", counted, start)
        counted = start
        token = new(Token)
        set_kind(token, kinds[found.lastgroup or "op"])
        set_text(token, found.group(group))
        set_line(token, line)
        set_start(token, start)
        yield token
        position = found.end()


def _trigger_in_first_words(sql: str, begin: int, end: int) -> bool:
    """``split_statements``' test: a TRIGGER among the statement's first six code tokens
    (before the ``;`` at ``end - 1``) asks ``sqlite3_complete`` where the body ends."""
    if "TRIGGER" not in sql[begin:end].upper():
        return True
    first = itertools.islice(_code_tokens(sql, begin, 1, end - 1), 6)
    if not any(t.is_word("TRIGGER") for t in first):
        return True
    return sqlite3.complete_statement(sql[begin:end])


_LITERALS = (Kind.STRING, Kind.QUOTED, Kind.BLOB)


def crlf_to_lf(sql: str) -> str:
    """CRLF as LF outside string literals and quoted names (kept inside them), as wrangler
    >= 4.124 does to SQL it sends to remote D1 (which fails on CRLF in trigger bodies)."""
    if "\r\n" not in sql:
        return sql
    out: list[str] = []
    plain: list[str] = []  # a CRLF may span two tokens (a line comment, then the newline)
    for token in tokenize(sql):
        if token.kind in _LITERALS:
            out.append("".join(plain).replace("\r\n", "\n"))
            plain = []
            out.append(token.text)
        else:
            plain.append(token.text)
    out.append("".join(plain).replace("\r\n", "\n"))
    return "".join(out)


def leading_comments(sql: str) -> tuple[Token, ...]:
    """Comment tokens before the first statement (the migration's header)."""
    head: list[Token] = []
    for token in tokenize(sql):
        if token.kind is Kind.COMMENT:
            head.append(token)
        elif token.kind is not Kind.SPACE:
            break
    return tuple(head)


# One match per statement: everything up to and including the `;` that ends it (or to
# the end of the text), strings, quoted names and comments consumed whole, so a `;`
# inside them never ends anything. Possessive: nothing is ever re-scanned.
_STATEMENT_RE = re.compile(
    r"""(?:[^;'"`\[\-/]++"""
    r"""|--[^\n]*+|/\*(?:[^*]++|\*(?!/))*+(?:\*/|\Z)"""
    r"""|'(?:[^']++|'')*+(?:'|\Z)|"(?:[^"]++|"")*+(?:"|\Z)|`(?:[^`]++|``)*+(?:`|\Z)"""
    r"""|\[[^\]]*+(?:\]|\Z)|[-/])*+(;)?"""
)
# Spaces and comments before a statement's first token.
_TRIVIA_RE = re.compile(r"(?:\s++|--[^\n]*+|/\*(?:[^*]++|\*(?!/))*+(?:\*/|\Z))*+")
# Both in one: group 1 ends where the statement's first code character is, group 2 is
# the `;` (``finditer`` then walks the whole text with one match per statement).
_PIECE_RE = re.compile(
    "(" + _TRIVIA_RE.pattern + ")" + _STATEMENT_RE.pattern.removesuffix("(;)?") + "(;)?"
)


class Executable(NamedTuple):
    """A statement ready to send: its text (comments inside it kept, as wrangler >= 4.137
    sends them) and the line it starts on. (A named tuple: 50,000 of them are built in a
    fraction of a frozen dataclass's time.)"""

    text: str
    line: int


def split_executable(sql: str) -> tuple[Executable, ...]:
    """``split_statements(sql)`` as ``(executable, line)``, without building every token.

    Used on the apply path, where tokenizing every migration cost 40% of the time; one
    regular-expression match per statement (the scanning stays in C) keeps a 50,000-statement
    migration near SQLite's own parse time. A property test holds it equal to the full
    tokenizer's result.
    """
    out: list[Executable] = []
    append = out.append
    new = Executable
    for begin, stop, line in _spans(sql, _complete):
        if stop < 0:  # the text ended inside a statement
            append(new(_to_last_code(sql[begin:]), line))
        else:
            append(new(sql[begin : stop + 1], line))
    return tuple(out)


def _spans(sql: str, complete: Callable[[str, int, int], bool]) -> Iterator[tuple[int, int, int]]:
    """``(begin, semi, line)`` of each statement: its first code character, the offset of
    the ``;`` that ends it (-1 when the text ends first) and its line.

    ``complete(sql, begin, end)`` decides whether a ``;`` (at ``end - 1``) ends the
    statement begun at ``begin`` (only asked when the text says TRIGGER somewhere; a
    trigger body spans several matches). Line numbers are counted incrementally.
    """
    begin = -1
    line, counted = 1, 0
    count = sql.count
    triggers = "TRIGGER" in upper_text(sql)
    for found in _PIECE_RE.finditer(sql):
        end = found.end()
        if begin < 0:
            first = found.end(1)
            if first == end or sql[first] == ";":
                continue  # only spaces and comments, or an empty statement (a lone `;`)
            begin = first
        if found.lastindex != 2:
            continue  # no `;`: the text ended (or a trigger body goes on below)
        if triggers and not complete(sql, begin, end):
            continue
        line += count("\n", counted, begin)
        counted = begin
        yield begin, end - 1, line
        begin = -1
    if begin >= 0:
        line += count("\n", counted, begin)
        yield begin, -1, line


def _to_last_code(text: str) -> str:
    """An unterminated last statement ends at its last token (SQLite stores no more)."""
    if "--" not in text and "/*" not in text:
        return text.rstrip()
    tokens = list(tokenize(text))
    while tokens and tokens[-1].kind in (Kind.COMMENT, Kind.SPACE):
        tokens.pop()
    return "".join(t.text for t in tokens).rstrip()


def _complete(sql: str, begin: int, end: int) -> bool:
    """``split_executable``' test: a statement saying TRIGGER ends where ``sqlite3_complete``
    says it does."""
    text = sql[begin:end]
    if "TRIGGER" not in text.upper():
        return True
    return sqlite3.complete_statement(text)
