"""The D1-safe table recreation, as SQL blocks (pure: built from the shadow schema).

D1 cannot switch foreign keys off, so ``DROP TABLE t`` deletes the rows of every
ON DELETE CASCADE child and resets SET NULL / SET DEFAULT keys. The recipe (see
``docs/recreate.md``), all in one migration, which D1 runs as one batch:

1. ``PRAGMA defer_foreign_keys = on``: checks wait for the end of the migration;
2. back up ``t`` and every table the drop touches into ordinary tables (D1 refuses
   TEMP tables), with the rowid where it is not a declared column;
3. set aside the views and triggers on or naming those tables;
4. ``CREATE TABLE t_new`` with the new definition;
5. ``DROP TABLE t`` and ``ALTER TABLE t_new RENAME TO t``;
6. copy the rows back into ``t`` with explicit column lists: inserting into the
   renamed parent is also what settles NO ACTION / RESTRICT children's deferred checks;
7. re-insert the deleted child rows (``INSERT OR IGNORE``), restore reset keys;
8. recreate indexes, views and triggers;
9. drop the backups.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.checks.schema import Index, Other, SchemaSnapshot, Table
from orchestrator.schema.cascade import Effect, cascade_effects, set_aside
from orchestrator.schema.compare import table_options
from orchestrator.schema.ddl import Block, guarded, q, renamed_create, taken_names, unused_name

ROWID_COPY = "orchestrate_rowid"


@dataclass(frozen=True)
class Recreation:
    """A recreation's SQL and what a reader must know about it."""

    table: str
    blocks: tuple[Block, ...]
    effects: tuple[Effect, ...]
    dropped_columns: tuple[str, ...]
    added_columns: tuple[str, ...]
    skipped_indexes: tuple[str, ...]
    autoincrement: bool


def recreation(
    schema: SchemaSnapshot, old: Table, new_sql: str, new: Table, edit_marker: bool = False
) -> Recreation:
    """The blocks that turn ``old`` into the table ``new_sql`` defines, keeping every row.

    ``new`` is that definition as SQLite reads it (created under a scratch name).
    """
    effects = cascade_effects(schema, old.name)
    touched = [old.name, *(e.table for e in effects)]
    taken = taken_names(schema)
    backups = {t.lower(): unused_name(f"{t}_backup", taken) for t in touched}
    scratch = unused_name(f"{old.name}_new", taken | {b.lower() for b in backups.values()})
    aside = set_aside(schema, set(touched))
    kept, skipped = _indexes(old, new)
    tables = {t.name.lower(): t for t in schema.tables}
    blocks = (
        _defer(),
        _backups(old, effects, backups, tables),
        *_set_aside_block(aside),
        _create(old.name, renamed_create(new_sql, scratch), edit_marker),
        _swap(old.name, scratch),
        _copy_back(old, new, backups[old.name.lower()]),
        *_restore(effects, backups, tables),
        *_recreate_objects(kept, aside),
        _drop_backups(backups),
    )
    old_names = {c.name.lower() for c in old.columns if c.hidden == 0}
    new_names = {c.name.lower() for c in new.columns if c.hidden == 0}
    return Recreation(
        old.name,
        tuple(b for b in blocks if b.statements),
        effects,
        tuple(c.name for c in old.columns if c.hidden == 0 and c.name.lower() not in new_names),
        tuple(c.name for c in new.columns if c.hidden == 0 and c.name.lower() not in old_names),
        tuple(i.name for i in skipped),
        "AUTOINCREMENT" in table_options(old),
    )


def _defer() -> Block:
    return Block(
        (
            "D1 enforces foreign keys in every transaction (PRAGMA foreign_keys=OFF does",
            "nothing there); defer the checks to the end of this migration instead.",
        ),
        ("PRAGMA defer_foreign_keys = on",),
    )


def _backups(
    old: Table, effects: tuple[Effect, ...], backups: dict[str, str], tables: dict[str, Table]
) -> Block:
    comments = [f"Back up {old.name} and the rows DROP TABLE {old.name} deletes or changes on D1:"]
    comments += [f"  {e.table}: {', '.join(e.how)}" for e in effects]
    comments += ["(ordinary tables: D1 refuses TEMP tables; dropped in the last step)"]
    statements = [_backup(old, backups[old.name.lower()])]
    statements += [_backup(tables[e.table.lower()], backups[e.table.lower()]) for e in effects]
    return Block(tuple(comments), tuple(statements))


def _backup(table: Table, backup: str) -> str:
    extra = f"rowid AS {q(ROWID_COPY)}, " if _hidden_rowid(table) else ""
    return f"CREATE TABLE IF NOT EXISTS {q(backup)} AS SELECT {extra}* FROM {q(table.name)}"


def _hidden_rowid(table: Table) -> bool:
    """A rowid that no declared column holds: it must be copied by name to be kept."""
    return has_rowid(table) and table.rowid_alias() is None


def has_rowid(table: Table) -> bool:
    """False for WITHOUT ROWID and virtual tables."""
    return not table.virtual and "WITHOUT ROWID" not in table_options(table)


def _set_aside_block(aside: tuple[Other, ...]) -> tuple[Block, ...]:
    if not aside:
        return ()
    statements = [f"DROP TRIGGER IF EXISTS {q(o.name)}" for o in aside if o.type == "trigger"]
    statements += [f"DROP VIEW IF EXISTS {q(o.name)}" for o in reversed(aside) if o.type == "view"]
    comments = (
        "Set aside the views and triggers on or naming these tables (recreated below):",
        "RENAME re-checks every view and trigger, and triggers must not fire during the swap.",
    )
    return (Block(comments, tuple(statements)),)


def _create(table: str, sql: str, edit_marker: bool) -> Block:
    comments = [f"The new definition of {table}."]
    if edit_marker:
        comments += [
            "EDIT HERE: change the definition below. If you add, drop or rename columns,",
            "also edit the column lists of the copy below, or regenerate with --sql-file/--edit.",
        ]
    return Block(tuple(comments), (sql,))


def _swap(table: str, scratch: str) -> Block:
    return Block(
        ("Swap the tables. On D1 this DROP deletes the child rows backed up above.",),
        (f"DROP TABLE {q(table)}", f"ALTER TABLE {q(scratch)} RENAME TO {q(table)}"),
    )


def _copy_back(old: Table, new: Table, backup: str) -> Block:
    into, source = copy_columns(old, new)
    statement = (
        f"INSERT INTO {q(old.name)} ({', '.join(into)}) SELECT {', '.join(source)} FROM {q(backup)}"
    )
    return Block(
        (
            "Copy the rows back, column by column (this also settles the deferred",
            "checks of NO ACTION/RESTRICT children).",
        ),
        (statement,),
    )


def copy_columns(old: Table, new: Table) -> tuple[list[str], list[str]]:
    """Quoted target and source column lists: the columns both definitions have."""
    present = {c.name.lower() for c in old.columns if c.hidden == 0}
    shared = [c.name for c in new.columns if c.hidden == 0 and c.name.lower() in present]
    into, source = [q(c) for c in shared], [q(c) for c in shared]
    if _hidden_rowid(old) and _hidden_rowid(new):
        into, source = ["rowid", *into], [q(ROWID_COPY), *source]
    return into, source


def _restore(
    effects: tuple[Effect, ...], backups: dict[str, str], tables: dict[str, Table]
) -> tuple[Block, ...]:
    statements: list[str] = []
    for effect in effects:
        table, backup = tables[effect.table.lower()], backups[effect.table.lower()]
        if effect.deletes:
            into, source = copy_columns(table, table)
            statements.append(
                f"INSERT OR IGNORE INTO {q(table.name)} ({', '.join(into)}) "
                f"SELECT {', '.join(source)} FROM {q(backup)}"
            )
        statements += [_reset(table, backup, columns) for columns in effect.reset]
    if not statements:
        return ()
    comments = ("Put back the child rows the DROP deleted, and the keys it reset.",)
    return (Block(comments, tuple(statements)),)


def _reset(table: Table, backup: str, columns: tuple[str, ...]) -> str:
    match = " AND ".join(f"b.{left} = {q(table.name)}.{right}" for left, right in _key(table))
    names = ", ".join(q(c) for c in columns)
    picked = ", ".join(f"b.{q(c)}" for c in columns)
    changed = " OR ".join(f"b.{q(c)} IS NOT {q(table.name)}.{q(c)}" for c in columns)
    target = names if len(columns) == 1 else f"({names})"
    return (
        f"UPDATE {q(table.name)} SET {target} = (SELECT {picked} FROM {q(backup)} AS b WHERE {match}) "
        f"WHERE EXISTS (SELECT 1 FROM {q(backup)} AS b WHERE {match} AND ({changed}))"
    )


def _key(table: Table) -> list[tuple[str, str]]:
    """How a backup row finds its row again: the rowid, else the primary key."""
    if has_rowid(table):
        alias = table.rowid_alias()
        return [(q(alias), q(alias))] if alias else [(q(ROWID_COPY), "rowid")]
    keys = sorted((c for c in table.columns if c.pk), key=lambda c: c.pk)
    return [(q(c.name), q(c.name)) for c in keys]


def _indexes(old: Table, new: Table) -> tuple[list[Index], list[Index]]:
    present = {c.name.lower() for c in new.columns}
    kept: list[Index] = []
    skipped: list[Index] = []
    for index in (i for i in old.indexes if i.origin == "c" and i.sql):
        named = [c for c in index.columns if c is not None]
        (kept if all(c.lower() in present for c in named) else skipped).append(index)
    return kept, skipped


def _recreate_objects(indexes: list[Index], aside: tuple[Other, ...]) -> tuple[Block, ...]:
    statements = [guarded(i.sql or "") for i in indexes]
    statements += [guarded(o.sql) for o in aside]
    if not statements:
        return ()
    return (Block(("Recreate the indexes, views and triggers.",), tuple(statements)),)


def _drop_backups(backups: dict[str, str]) -> Block:
    return Block(
        ("Drop the backups.",),
        tuple(f"DROP TABLE IF EXISTS {q(b)}" for b in backups.values()),
    )
