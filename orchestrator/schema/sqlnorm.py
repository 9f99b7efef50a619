"""Canonical text of SQL fragments, so cosmetic differences are not drift.

Two fragments are the same when their code tokens are: comments, whitespace,
identifier quoting and letter case, ``IF NOT EXISTS`` and a trailing ``;`` do not
count. String literals keep their exact text (they are data).
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.sqltext import Kind, Token, split_statements, tokenize


def normalize_sql(sql: str | None) -> str:
    """``CREATE INDEX IF NOT EXISTS "i" ON t (a);`` -> ``create index i on t ( a )``."""
    if not sql:
        return ""
    return normalize_tokens(t for t in tokenize(sql) if t.is_code)


def normalize_tokens(tokens: Iterable[Token]) -> str:
    """Canonical text of some code tokens."""
    words = [_word(t) for t in tokens if t.kind is not Kind.SEMI]
    return " ".join(_drop_guard(words))


def _word(token: Token) -> str:
    if token.kind in (Kind.IDENT, Kind.QUOTED):
        return token.name
    return token.text if token.kind is Kind.STRING else token.text.lower()


def _drop_guard(words: list[str]) -> list[str]:
    # "if not exists" only ever appears as CREATE's guard ("not exists (…)" has no "if").
    result: list[str] = []
    index = 0
    while index < len(words):
        if words[index : index + 3] == ["if", "not", "exists"]:
            index += 3
            continue
        result.append(words[index])
        index += 1
    return result


def normalize_expression(sql: str | None) -> str:
    """A default or CHECK expression without its outer parentheses: ``(0)`` -> ``0``."""
    return strip_parens(normalize_sql(sql))


def strip_parens(text: str) -> str:
    """Canonical text without the parentheses that wrap all of it."""
    while text.startswith("( ") and text.endswith(" )") and _balanced(text[2:-2]):
        text = text[2:-2]
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for word in text.split(" "):
        depth += 1 if word == "(" else -1 if word == ")" else 0
        if depth < 0:
            return False
    return depth == 0


def normalize_type(declared: str | None) -> str:
    """A declared column type in one spelling: ``varchar (255)`` -> ``VARCHAR(255)``."""
    return normalize_sql(declared).upper().replace(" ", "")


def statement_tokens(sql: str) -> tuple[Token, ...]:
    """The code tokens of the first statement of ``sql`` (empty when there is none)."""
    statements = split_statements(sql)
    return statements[0].tokens if statements else ()


def compact(text: str, limit: int = 100) -> str:
    """Canonical text made readable: ``on t ( a , b )`` -> ``on t(a, b)``, cut at ``limit``."""
    shown = text.replace(" ( ", "(").replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
