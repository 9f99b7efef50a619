"""Column definitions of ``CREATE TABLE`` and ``ALTER TABLE … ADD COLUMN``, from tokens.

SQLite itself is the authority on what a schema *is* (see ``schema``); this module
keeps what only the source text knows: the line each column and reference is on,
and the literal text of defaults and CHECK expressions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from orchestrator.checks.statements import words_at
from orchestrator.sqltext import Kind, Token

Tokens = tuple[Token, ...]
_CONSTRAINT_WORDS = frozenset(
    {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT"}
    | {"COLLATE", "REFERENCES", "GENERATED", "AS"}
)
_TABLE_CONSTRAINTS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")


@dataclass(frozen=True)
class Reference:
    """A foreign key: child ``columns`` refer to ``table(parent_columns)``."""

    columns: tuple[str, ...]
    table: str
    parent_columns: tuple[str, ...]
    on_delete: str
    line: int


@dataclass(frozen=True)
class ColumnDef:
    """One column definition as written."""

    name: str
    line: int
    type: str
    not_null: bool = False
    default: Tokens | None = None
    unique: bool = False
    primary_key: bool = False
    reference: Reference | None = None
    generated: str = ""
    checks: tuple[Tokens, ...] = ()
    collation: str = ""  # COLLATE name, upper case ("" when none is written)


@dataclass(frozen=True)
class TableDef:
    """The body of a ``CREATE TABLE name (…)``."""

    columns: tuple[ColumnDef, ...]
    references: tuple[Reference, ...]
    checks: tuple[Tokens, ...]

    def column(self, name: str) -> ColumnDef | None:
        """The column called ``name``, if defined here."""
        return next((c for c in self.columns if c.name == name), None)


def group_end(tokens: Tokens, start: int) -> int:
    """Index just past the parenthesized group opening at ``start``."""
    depth = 0
    for index in range(start, len(tokens)):
        if tokens[index].text == "(" and tokens[index].kind is Kind.OP:
            depth += 1
        elif tokens[index].text == ")" and tokens[index].kind is Kind.OP:
            depth -= 1
            if depth == 0:
                return index + 1
    return len(tokens)


def split_top(tokens: Tokens) -> Iterator[Tokens]:
    """Split ``tokens`` at commas outside parentheses."""
    depth, begin = 0, 0
    for index, token in enumerate(tokens):
        if token.kind is Kind.OP and token.text in "()":
            depth += 1 if token.text == "(" else -1
        elif depth == 0 and token.text == ",":
            yield tokens[begin:index]
            begin = index + 1
    if begin < len(tokens):
        yield tokens[begin:]


def parse_table(tokens: Tokens) -> TableDef | None:
    """The column list of a CREATE TABLE statement's tokens; None for ``AS SELECT``/virtual."""
    opening = next((i for i, t in enumerate(tokens) if t.text == "("), None)
    if opening is None or any(t.is_word("VIRTUAL") for t in tokens[:opening]):
        return None
    body = tokens[opening + 1 : group_end(tokens, opening) - 1]
    columns: list[ColumnDef] = []
    references: list[Reference] = []
    checks: list[Tokens] = []
    for part in split_top(body):
        if part and part[0].is_word(*_TABLE_CONSTRAINTS):
            _table_constraint(part, references, checks)
        elif part:
            column = parse_column(part)
            columns.append(column)
            references.extend([column.reference] if column.reference else [])
    return TableDef(tuple(columns), tuple(references), tuple(checks))


def parse_column(part: Tokens) -> ColumnDef:
    """One column definition: ``name type constraints…``."""
    index = 1
    type_words: list[str] = []
    while index < len(part) and part[index].kind is Kind.IDENT:
        if part[index].upper in _CONSTRAINT_WORDS:
            break
        type_words.append(part[index].upper)
        index += 1
    if index < len(part) and part[index].text == "(":
        index = group_end(part, index)
    return _constraints(part, index, ColumnDef(part[0].name, part[0].line, " ".join(type_words)))


@dataclass
class _Constraints:
    """Column constraints gathered while scanning (mutable, private to the parser)."""

    not_null: bool = False
    default: Tokens | None = None
    unique: bool = False
    primary_key: bool = False
    reference: Reference | None = None
    generated: str = ""
    checks: list[Tokens] = field(default_factory=list)
    collation: str = ""


def _constraints(part: Tokens, index: int, column: ColumnDef) -> ColumnDef:
    found = _Constraints()
    while index < len(part):
        index = _constraint(part, index, column.name, found)
    return replace(
        column,
        not_null=found.not_null,
        default=found.default,
        unique=found.unique,
        primary_key=found.primary_key,
        reference=found.reference,
        generated=found.generated,
        checks=tuple(found.checks),
        collation=found.collation,
    )


def _constraint(part: Tokens, index: int, name: str, found: _Constraints) -> int:
    """Read the constraint word at ``index`` into ``found``; return where the next starts."""
    token = part[index]
    index += 1
    if token.is_word("NOT") and words_at(part, index, "NULL"):
        found.not_null = True
        return index + 1
    if token.is_word("DEFAULT"):
        end = _default_end(part, index)
        found.default = part[index:end]
        return end
    if token.is_word("CHECK") and index < len(part):
        end = group_end(part, index)
        found.checks.append(part[index:end])
        return end
    if token.is_word("REFERENCES"):
        found.reference, index = _reference(part, index, (name,), token.line)
        return index
    if token.is_word("COLLATE") and index < len(part):
        found.collation = part[index].name.upper()
        return index + 1
    if token.is_word("AS") and index < len(part) and part[index].text == "(":
        found.generated = found.generated or "VIRTUAL"
        return group_end(part, index)
    found.primary_key = found.primary_key or token.is_word("PRIMARY")
    found.unique = found.unique or token.is_word("UNIQUE")
    if token.is_word("STORED", "VIRTUAL"):
        found.generated = token.upper
    return index + 1 if token.is_word("CONSTRAINT", "COLLATE") else index


def _default_end(part: Tokens, index: int) -> int:
    if index < len(part) and part[index].text == "(":
        return group_end(part, index)
    if index < len(part) and part[index].text in "+-":
        return min(index + 2, len(part))
    return min(index + 1, len(part))


def _reference(
    part: Tokens, index: int, columns: tuple[str, ...], line: int
) -> tuple[Reference, int]:
    table = part[index].name if index < len(part) else ""
    index += 1
    parent: tuple[str, ...] = ()
    if index < len(part) and part[index].text == "(":
        end = group_end(part, index)
        parent = _names(part[index + 1 : end - 1])
        index = end
    on_delete = ""
    while index < len(part) and not part[index].is_word(*_TABLE_CONSTRAINTS, "NOT", "DEFAULT"):
        if part[index].is_word("ON") and words_at(part, index + 1, "DELETE"):
            on_delete = _action(part, index + 2)
        index += 1
    return Reference(columns, table, parent, on_delete, line), index


def _action(part: Tokens, index: int) -> str:
    words = [t.upper for t in part[index : index + 2] if t.kind is Kind.IDENT]
    if words[:1] in (["SET"], ["NO"]):
        return " ".join(words[:2])
    return words[0] if words else ""


def _names(tokens: Tokens) -> tuple[str, ...]:
    return tuple(part[0].name for part in split_top(tokens) if part)


def _table_constraint(part: Tokens, references: list[Reference], checks: list[Tokens]) -> None:
    index = 2 if part[0].is_word("CONSTRAINT") else 0
    if words_at(part, index, "FOREIGN", "KEY") and index + 2 < len(part):
        end = group_end(part, index + 2)
        columns = _names(part[index + 3 : end - 1])
        if end < len(part) and part[end].is_word("REFERENCES"):
            references.append(_reference(part, end + 1, columns, part[0].line)[0])
    elif index < len(part) and part[index].is_word("CHECK"):
        checks.append(part[index + 1 : group_end(part, index + 1)])


def literals(tokens: Tokens) -> tuple[str | int | float, ...]:
    """String and number literals in some tokens (candidate values for a CHECK)."""
    values: list[str | int | float] = []
    for index, token in enumerate(tokens):
        negative = index > 0 and tokens[index - 1].text == "-"
        if token.kind is Kind.STRING:
            values.append(token.text[1:-1].replace("''", "'"))
        elif token.kind is Kind.NUMBER:
            number = _number(token.text)
            values.append(-number if negative else number)
    return tuple(values)


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    try:
        return int(clean, 16) if clean.lower().startswith("0x") else int(clean)
    except ValueError:
        return float(clean)
