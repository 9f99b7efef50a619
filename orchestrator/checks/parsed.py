"""One migration file read for the rules: statements, their shapes, the table
recreations it performs, the tables it only uses transiently, and its suppressions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from orchestrator.checks.columns import TableDef, parse_table
from orchestrator.checks.statements import Shape, shapes_of
from orchestrator.checks.suppress import Suppression, parse_suppressions
from orchestrator.discovery.naming import ParsedName, parse_name
from orchestrator.sqltext import Statement, leading_comments, split_statements


@dataclass(frozen=True)
class Recreation:
    """SQLite's table-recreation pattern applied to ``table``.

    Either ``CREATE new; copy; DROP table; RENAME new TO table`` or
    ``RENAME table TO old; CREATE table; copy; DROP old``; ``scratch`` is the other
    name and ``steps`` the statement indexes that make up the pattern.
    """

    table: str
    scratch: str
    dropped: str
    drop: int
    steps: frozenset[int]


@dataclass(frozen=True)
class ParsedMigration:
    """A migration file as the rules see it."""

    file: str
    sql: str
    statements: tuple[Statement, ...]
    shapes: tuple[Shape, ...]
    recreations: tuple[Recreation, ...]
    transient: frozenset[str]
    suppressions: tuple[Suppression, ...]
    name: ParsedName | None
    database: str | None = None
    # The statements' indexes by verb (``CREATE``, ``INSERT`` …), each list in order.
    by_verb: Mapping[str, list[int]] = field(kw_only=True, compare=False, repr=False)

    @cached_property
    def header(self) -> tuple[str, ...]:
        """The header comment's text, one entry per line, without ``--`` or ``/* */``."""
        return header_lines(self.sql)

    @cached_property
    def tables(self) -> dict[int, TableDef]:
        """Column definitions of each ``CREATE TABLE (…)`` statement, by statement index."""
        found = {}
        for index in self.indexes("CREATE"):
            shape = self.shapes[index]
            definition = parse_table(self.statements[index].tokens) if shape.is_create() else None
            if definition is not None and not shape.virtual:
                found[index] = definition
        return found

    def indexes(self, *verbs: str) -> list[int]:
        """Indexes of the statements whose verb is one of ``verbs``, in order.

        Rules look only at the statements they are about, so a 50,000-row seed (all
        INSERTs) costs the CREATE and DROP rules nothing."""
        if len(verbs) == 1:
            return self.by_verb.get(verbs[0], [])
        return sorted(i for verb in verbs for i in self.by_verb.get(verb, ()))

    @cached_property
    def exempt(self) -> frozenset[int]:
        """Statements that belong to a recreation (exempt from idempotency rules)."""
        return frozenset(i for r in self.recreations for i in r.steps)


def header_lines(sql: str) -> tuple[str, ...]:
    """Comment text before the first statement, one entry per line."""
    lines: list[str] = []
    for token in leading_comments(sql):
        text = token.text
        if text.startswith("--"):
            lines.append(text[2:])
        else:
            lines.extend(line.strip(" *") for line in text[2:].removesuffix("*/").splitlines())
    return tuple(lines)


def parse_migration(file: str, sql: str, database: str | None = None) -> ParsedMigration:
    """Split, classify and scan one migration file."""
    statements = split_statements(sql)
    shapes = shapes_of(statements)
    by_verb: dict[str, list[int]] = {}
    for index, shape in enumerate(shapes):
        by_verb.setdefault(shape.verb, []).append(index)
    recreations = find_recreations(shapes, by_verb.get("ALTER", []))
    scratch = {r.scratch for r in recreations} | {r.table for r in recreations}
    creates_drops = sorted(by_verb.get("CREATE", []) + by_verb.get("DROP", []))
    transient = frozenset(transient_tables(shapes, creates_drops) - scratch)
    return ParsedMigration(
        file=file,
        sql=sql,
        statements=statements,
        shapes=shapes,
        recreations=recreations,
        transient=transient,
        suppressions=parse_suppressions(file, sql, statements, database),
        name=parse_name(file.rsplit("/", 1)[-1]),
        database=database,
        by_verb=by_verb,
    )


def find_recreations(shapes: tuple[Shape, ...], alters: list[int]) -> tuple[Recreation, ...]:
    """Every table recreation in a migration, in either of its two spellings (``alters``:
    the indexes of its ALTER statements)."""
    found = []
    for index in alters:
        shape = shapes[index]
        if shape.action != "RENAME TABLE" or not shape.name or not shape.new_name:
            continue
        recreation = _new_then_rename(shapes, index) or _rename_then_new(shapes, index)
        if recreation is not None:
            found.append(recreation)
    return tuple(found)


def _new_then_rename(shapes: tuple[Shape, ...], rename: int) -> Recreation | None:
    new, table = shapes[rename].name, shapes[rename].new_name
    create = _last(shapes, range(rename), lambda s: s.is_create() and s.name == new)
    drop = _last(shapes, range(rename), lambda s: s.is_drop() and s.name == table)
    if create is None or drop is None or new is None or table is None:
        return None
    steps = {create, drop, rename, *_copies(shapes, range(create, rename), new, table)}
    return Recreation(table, new, table, drop, frozenset(steps))


def _rename_then_new(shapes: tuple[Shape, ...], rename: int) -> Recreation | None:
    table, old = shapes[rename].name, shapes[rename].new_name
    later = range(rename + 1, len(shapes))
    create = _first(shapes, later, lambda s: s.is_create() and s.name == table)
    drop = _first(shapes, later, lambda s: s.is_drop() and s.name == old)
    if create is None or drop is None or table is None or old is None:
        return None
    steps = {create, drop, rename, *_copies(shapes, range(create, drop), table, old)}
    return Recreation(table, old, old, drop, frozenset(steps))


def _copies(shapes: tuple[Shape, ...], span: range, into: str, source: str) -> list[int]:
    return [
        i
        for i in span
        if shapes[i].verb == "INSERT" and shapes[i].name == into and shapes[i].copy_from == source
    ]


def _first(shapes: tuple[Shape, ...], span: range, test: Callable[[Shape], bool]) -> int | None:
    return next((i for i in span if test(shapes[i])), None)


def _last(shapes: tuple[Shape, ...], span: range, test: Callable[[Shape], bool]) -> int | None:
    return _first(shapes, range(span.stop - 1, span.start - 1, -1), test)


def transient_tables(shapes: tuple[Shape, ...], creates_drops: list[int]) -> set[str]:
    """Tables created and later dropped in the same migration (backups, scratch copies);
    ``creates_drops``: the indexes of its CREATE and DROP statements, in order."""
    created: dict[str, int] = {}
    transient: set[str] = set()
    for index in creates_drops:
        shape = shapes[index]
        if shape.is_create() and shape.name:
            created.setdefault(shape.name, index)
        elif shape.is_drop() and shape.name in created:
            transient.add(shape.name)
    return transient
