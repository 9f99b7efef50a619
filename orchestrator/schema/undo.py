"""The steps of a revert (``orchestrate revert``): the migration that undoes another,
generated from the shadow schema just before and just after it.

The revert is built step by step on a live shadow: each step is generated from the
schema as the previous steps left it, then run, so later steps never guess. In order:
undo renames; drop the indexes, views and triggers the migration created (or
changed); bring changed tables back (``DROP COLUMN`` where SQLite takes it and the
result is the old table exactly, else the D1-safe recreation); drop created tables;
recreate dropped ones; restore indexes, views and triggers. What is left different
at the end, and the data that cannot come back, is said in the header.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

from orchestrator.checks.columns import split_top
from orchestrator.checks.parsed import ParsedMigration, parse_migration
from orchestrator.checks.schema import Other, SchemaSnapshot, Table, snapshot_schema
from orchestrator.checks.shadow import run_script
from orchestrator.schema.cascade import cascade_effects, mentions
from orchestrator.schema.compare import compare_schemas, compare_table
from orchestrator.schema.ddl import Block, guarded, q, render_blocks
from orchestrator.schema.recipe import recreation
from orchestrator.schema.sqlnorm import normalize_sql
from orchestrator.schema.target import describe_definition
from orchestrator.sqltext import Kind, Token


@dataclass
class _Builder:
    """The revert as it grows, and the shadow it has been run on (private, mutable)."""

    conn: sqlite3.Connection
    before: SchemaSnapshot
    final: SchemaSnapshot | None = None  # where the revert runs: after every migration
    blocks: list[Block] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)

    @property
    def now(self) -> SchemaSnapshot:
        return snapshot_schema(self.conn)

    def add(self, *blocks: Block) -> bool:
        """Run ``blocks`` on the shadow as one migration; keep them if SQLite agrees."""
        chosen = [b for b in blocks if b.statements]
        if not chosen:
            return True
        script = parse_migration("revert.sql", render_blocks(chosen))
        if run_script(self.conn, script) is not None:
            return False
        self.blocks.extend(chosen)
        return True


@dataclass(frozen=True)
class RevertPlan:
    """A revert's steps; the data it loses, the row changes it does not undo, cautions,
    and what still differs from the schema before the migration."""

    blocks: tuple[Block, ...]
    lost: tuple[str, ...]
    not_undone: tuple[str, ...]
    cautions: tuple[str, ...]
    residue: tuple[str, ...]


def plan_revert(
    conn: sqlite3.Connection,
    before: SchemaSnapshot,
    migration: ParsedMigration,
    final: SchemaSnapshot | None = None,
) -> RevertPlan:
    """Steps that take ``conn`` (the schema just after ``migration``) back to ``before``.

    ``final`` is the schema the revert will really run on (after every migration):
    a recreation backs up the children that exist there, not only those of ``conn``.
    """
    build = _Builder(conn, before, final)
    created = {t.name.lower() for t in build.now.tables if before.table(t.name) is None}
    _undo_renames(build, migration)
    _drop_objects(build)
    _restore_tables(build)
    _drop_created_tables(build)
    _recreate_dropped_tables(build)
    _restore_objects(build)
    residue = tuple(d.message for d in compare_schemas(before, build.now))
    residue += tuple(_text_residue(before, build.now))
    return RevertPlan(
        tuple(build.blocks),
        tuple(build.lost),
        tuple(_data_notes(migration, created)),
        tuple(build.cautions),
        residue,
    )


def _undo_renames(build: _Builder, migration: ParsedMigration) -> None:
    exempt = migration.exempt
    for index in reversed(range(len(migration.shapes))):
        shape = migration.shapes[index]
        if index in exempt or shape.verb != "ALTER" or not shape.name or not shape.new_name:
            continue
        if shape.action == "RENAME TABLE":
            statement = (
                f"ALTER TABLE {q(shape.new_name)} RENAME TO {q(_spelled(build, shape.name))}"
            )
        elif shape.action == "RENAME COLUMN" and shape.column:
            table = shape.name
            statement = (
                f"ALTER TABLE {q(table)} RENAME COLUMN {q(shape.new_name)} TO {q(shape.column)}"
            )
        else:
            continue
        build.add(
            Block((f"Undo the rename at line {migration.statements[index].line}.",), (statement,))
        )


def _spelled(build: _Builder, name: str) -> str:
    table = build.before.table(name)
    return table.name if table else name


def _spelled_column(build: _Builder, table: str, column: str) -> str:
    found = build.before.table(table)
    names = [c.name for c in found.columns] if found else []
    return next((n for n in names if n.lower() == column.lower()), column)


def _drop_objects(build: _Builder) -> None:
    now, before = build.now, build.before
    wanted = _objects(before)
    drops = []
    for kind, name, sql in _object_list(now):
        if wanted.get((kind, name.lower())) != normalize_sql(sql):
            drops.append(f"DROP {kind.upper()} IF EXISTS {q(name)}")
    build.add(
        Block(
            ("Drop the triggers, views and indexes this migration created or changed.",),
            tuple(drops),
        )
    )


def _objects(snapshot: SchemaSnapshot) -> dict[tuple[str, str], str]:
    return {(kind, name.lower()): normalize_sql(sql) for kind, name, sql in _object_list(snapshot)}


def _object_list(snapshot: SchemaSnapshot) -> list[tuple[str, str, str]]:
    """Triggers, then views, then created indexes: the order they are safe to drop in."""
    found = [(o.type, o.name, o.sql) for o in snapshot.others if o.type == "trigger"]
    found += [(o.type, o.name, o.sql) for o in snapshot.others if o.type == "view"]
    found += [
        ("index", i.name, i.sql or "")
        for t in snapshot.tables
        for i in t.indexes
        if i.origin == "c"
    ]
    return found


def _restore_tables(build: _Builder) -> None:
    for old in build.before.tables:
        current = build.now.table(old.name)
        if current is None or not _differs(old, current, build):
            continue
        if old.virtual or current.virtual:
            _replace_virtual(build, old)
        elif not _drop_added_columns(build, old, current):
            _recreate_as_before(build, old, current)


def _replace_virtual(build: _Builder, old: Table) -> None:
    # A virtual table (FTS5 …) holds derived data: drop it and create the old one.
    statements = (f"DROP TABLE IF EXISTS {q(old.name)}", guarded(old.sql))
    comment = (f"Recreate the virtual table {old.name} as it was (its contents must be rebuilt).",)
    if build.add(Block(comment, statements)):
        build.lost.append(f"the contents of the virtual table {old.name}: rebuild them")


def _differs(old: Table, current: Table, build: _Builder) -> bool:
    if normalize_sql(old.sql) != normalize_sql(current.sql):
        return True
    found = compare_table(old, current, build.before, build.now)
    return any(d.kind != "index" for d in found)


def _drop_added_columns(build: _Builder, old: Table, current: Table) -> bool:
    """``ALTER TABLE … DROP COLUMN`` for columns the migration added, if that gives ``old`` back."""
    had = [c.name.lower() for c in old.columns]
    names = [c.name for c in current.columns]
    added = [n for n in names if n.lower() not in had]
    if not added or [n.lower() for n in names if n.lower() in had] != had:
        return False
    statements = tuple(f"ALTER TABLE {q(current.name)} DROP COLUMN {q(c)}" for c in added)
    build.conn.execute("SAVEPOINT orchestrate_try")
    kept = build.add(
        Block((f"Drop the columns this migration added to {current.name}.",), statements)
    )
    after = build.now.table(old.name)
    if kept and after is not None and normalize_sql(after.sql) == normalize_sql(old.sql):
        build.conn.execute("RELEASE orchestrate_try")
        build.lost.append(f"the values of {', '.join(f'{current.name}.{c}' for c in added)}")
        return True
    if kept:
        build.blocks.pop()
    build.conn.execute("ROLLBACK TO orchestrate_try")
    build.conn.execute("RELEASE orchestrate_try")
    return False


def _recreate_as_before(build: _Builder, old: Table, current: Table) -> None:
    new = describe_definition(build.conn, old.sql)
    later = _later_children(build, old.name)
    for child in later:  # empty stand-ins, so the recipe can be run and checked here
        build.conn.execute(child.sql)
    plan = recreation(build.now, current, old.sql, new)
    first, *rest = plan.blocks
    intro = (
        f"Recreate {old.name} with its definition from before this migration, D1-safe",
        "(children's rows are backed up and restored; see docs/recreate.md).",
    )
    added = build.add(Block(intro + first.comments, first.statements), *rest)
    for child in reversed(later):
        build.conn.execute(f"DROP TABLE IF EXISTS {q(child.name)}")
    if not added:
        return
    gone = ", ".join(f"{old.name}.{c}" for c in plan.dropped_columns)
    build.lost += [f"the values of {gone}"] if gone else []
    back = ", ".join(f"{old.name}.{c}" for c in plan.added_columns)
    build.lost += (
        [f"the values of {back}: the column comes back with its DEFAULT (or NULL)"] if back else []
    )
    build.cautions.append(
        f"a row of {old.name} that breaks its old definition (CHECK, NOT NULL, UNIQUE …) "
        "makes the whole revert fail, changing nothing"
    )


def _later_children(build: _Builder, parent: str) -> list[Table]:
    """Tables of the final schema whose rows a drop of ``parent`` touches, which later
    migrations create: the revert runs after them, so its recipe must keep their rows."""
    if build.final is None:
        return []
    now = build.now
    touched = [e.table for e in cascade_effects(build.final, parent)]
    missing = [build.final.table(t) for t in touched if now.table(t) is None]
    return _parents_first([t for t in missing if t is not None])


def _drop_created_tables(build: _Builder) -> None:
    created = [t for t in build.now.tables if build.before.table(t.name) is None]
    order = _parents_first(created)
    statements = tuple(f"DROP TABLE IF EXISTS {q(t.name)}" for t in reversed(order))
    if build.add(
        Block(("Drop the tables this migration created (their rows go with them).",), statements)
    ):
        build.lost += [f"the rows of {t.name}" for t in order]


def _recreate_dropped_tables(build: _Builder) -> None:
    dropped = [t for t in build.before.tables if build.now.table(t.name) is None]
    statements = tuple(guarded(t.sql) for t in _parents_first(dropped))
    if build.add(
        Block(
            ("Recreate the tables this migration dropped (empty: their rows are gone).",),
            statements,
        )
    ):
        build.lost += [f"the rows of {t.name} (dropped by the migration)" for t in dropped]


def _parents_first(tables: list[Table]) -> list[Table]:
    names = {t.name.lower(): t for t in tables}
    graph = {
        n: {fk.table.lower() for fk in t.foreign_keys} & set(names) - {n} for n, t in names.items()
    }
    try:
        return [names[n] for n in TopologicalSorter(graph).static_order()]
    except CycleError:
        return sorted(tables, key=lambda t: t.name)


def _restore_objects(build: _Builder) -> None:
    now = _objects(build.now)
    missing = [
        (kind, name, sql)
        for kind, name, sql in _object_list(build.before)
        if now.get((kind, name.lower())) != normalize_sql(sql)
    ]
    extra = [
        f"DROP {kind.upper()} IF EXISTS {q(name)}"
        for kind, name, _ in _object_list(build.now)
        if (kind, name.lower()) not in _objects(build.before)
    ]
    creates = [guarded(sql) for kind, _, sql in _creation_order(missing, build.before)]
    build.add(
        Block(
            ("Restore the indexes, views and triggers as they were before this migration.",),
            (*extra, *creates),
        )
    )


def _creation_order(
    items: list[tuple[str, str, str]], before: SchemaSnapshot
) -> list[tuple[str, str, str]]:
    indexes = [i for i in items if i[0] == "index"]
    views = [i for i in items if i[0] == "view"]
    names = {v[1].lower() for v in views}
    ordered: list[tuple[str, str, str]] = []
    while views:
        ready = next(
            (
                v
                for v in views
                if not mentions(
                    Other("view", v[1], v[1], v[2]), names - {o[1].lower() for o in ordered}
                )
            ),
            views[0],
        )
        ordered.append(ready)
        views.remove(ready)
    return indexes + ordered + [i for i in items if i[0] == "trigger"]


def _text_residue(before: SchemaSnapshot, now: SchemaSnapshot) -> list[str]:
    found = []
    for old in before.tables:
        current = now.table(old.name)
        if current is not None and normalize_sql(old.sql) != normalize_sql(current.sql):
            found.append(f"the definition of {old.name} differs in its CREATE text")
    return found


_NAMES = (Kind.IDENT, Kind.QUOTED)


def _backups(migration: ParsedMigration) -> dict[str, str]:
    """``{backup: table}`` for each table the migration copies (``CREATE TABLE b AS SELECT
    … FROM t``) and drops again: what `orchestrate recreate` saves before its DROP."""
    return {
        shape.name: shape.copy_from
        for shape in migration.shapes
        if shape.is_create() and shape.name in migration.transient and shape.copy_from
    }


def _restores(migration: ParsedMigration, index: int, backups: dict[str, str]) -> bool:
    """True for a write that puts back rows (or keys) of a table from its own backup in the
    same migration, column for column, as `orchestrate recreate` writes it: the rows were
    there before, so there is nothing for a revert to undo. A write that computes anything
    from the backup (``upper(a)``, ``price * 2``) changes data and stays listed."""
    shape = migration.shapes[index]
    tokens = migration.statements[index].tokens
    if shape.verb in ("INSERT", "REPLACE"):
        restoring = bool(shape.copy_from) and backups.get(shape.copy_from or "") == shape.name
        return restoring and _plain_select_list(tokens)
    if shape.verb != "UPDATE" or not any(backups.get(t.name) == shape.name for t in tokens):
        return False
    return _copies_columns_back(tokens)


def _plain_select_list(tokens: tuple[Token, ...]) -> bool:
    """``… SELECT a, b."c", "d" FROM …``: the selected values are columns, nothing else."""
    start = next((i for i, t in enumerate(tokens) if t.is_word("SELECT")), None)
    if start is None:
        return False
    end = next((i for i in range(start + 1, len(tokens)) if tokens[i].is_word("FROM")), None)
    chosen = tokens[start + 1 : end]
    return bool(chosen) and all(t.kind in _NAMES or t.text in (",", ".") for t in chosen)


def _copies_columns_back(tokens: tuple[Token, ...]) -> bool:
    """``UPDATE t SET c = (SELECT b.c FROM backup AS b WHERE …), … [WHERE …]``: each column
    set is the same column read back, and nothing else is set."""
    start = next((i for i, t in enumerate(tokens) if t.is_word("SET")), None)
    if start is None:
        return False
    body = tokens[start + 1 :]
    depth, stop = 0, len(body)
    for position, token in enumerate(body):
        depth += (token.text == "(") - (token.text == ")") if token.kind is Kind.OP else 0
        if depth == 0 and token.is_word("WHERE", "FROM", "RETURNING"):
            stop = position
            break
    assignments = list(split_top(body[:stop]))
    return bool(assignments) and all(_column_read_back(a) for a in assignments)


def _column_read_back(assignment: tuple[Token, ...]) -> bool:
    if len(assignment) < 6 or assignment[1].text != "=" or assignment[2].text != "(":
        return False
    if not assignment[3].is_word("SELECT"):
        return False
    rest = assignment[4:]
    end = next((i for i, t in enumerate(rest) if t.is_word("FROM")), None)
    if end is None:
        return False
    chosen = rest[:end]
    read = (
        chosen[-1]
        if len(chosen) in (1, 3) and (len(chosen) == 1 or chosen[1].text == ".")
        else None
    )
    return read is not None and read.kind in _NAMES and read.name == assignment[0].name


def _data_notes(migration: ParsedMigration, created: set[str]) -> list[str]:
    """What the migration did to rows of tables that stay, which no schema revert undoes."""
    verbs = {
        "INSERT": "rows it inserted into",
        "UPDATE": "its updates to",
        "DELETE": "rows it deleted from",
    }
    notes = []
    backups = _backups(migration)
    for index, shape in enumerate(migration.shapes):
        written = shape.name if shape.verb in ("INSERT", "UPDATE", "DELETE") else None
        if index in migration.exempt or written in migration.transient | created:
            continue
        if _restores(migration, index, backups):
            continue
        verb = "INSERT" if shape.verb == "REPLACE" else shape.verb
        if verb in verbs and shape.name:
            line = migration.statements[index].line
            notes.append(f"{verbs[verb]} {shape.name} (line {line})")
    return notes
