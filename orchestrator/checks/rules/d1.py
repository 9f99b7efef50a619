"""D1 rules D001–D008: what Cloudflare D1 ignores, rejects or silently does differently.

D1 enforces foreign keys in every transaction (``PRAGMA foreign_keys`` does
nothing), so ``DROP TABLE parent`` still fires the children's ON DELETE actions;
it rejects transaction control, ATTACH/DETACH/VACUUM, TEMP objects, reserved
names and statements over 100 KB.
"""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.rules.base import Context
from orchestrator.checks.schema import SchemaSnapshot
from orchestrator.checks.statements import OBJECTS
from orchestrator.sqltext import Kind, tokenize

MAX_STATEMENT_BYTES = 100_000
_TRANSACTION = ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE")
_FORBIDDEN = ("ATTACH", "DETACH", "VACUUM")
_RESERVED = ("_cf_", "sqlite_")
_LOSSY = ("CASCADE", "SET NULL", "SET DEFAULT")


def check_foreign_keys_pragma(ctx: Context) -> Iterator[Finding]:
    """D001: ``PRAGMA foreign_keys = …`` does nothing on D1."""
    for index in ctx.migration.indexes("PRAGMA"):
        shape = ctx.migration.shapes[index]
        if shape.name == "foreign_keys" and shape.new_name:
            yield ctx.finding(
                "D001",
                ctx.migration.statements[index].line,
                f"PRAGMA foreign_keys = {shape.new_name.upper()} has no effect on D1, which enforces "
                "foreign keys in every transaction: DROP TABLE of a parent still fires ON DELETE "
                "CASCADE/SET NULL. Use PRAGMA defer_foreign_keys = on instead; it only defers the "
                "constraint check to the end of the migration and does not stop cascades",
            )


def check_cascade_loss(ctx: Context) -> Iterator[Finding]:
    """D002: DROP TABLE of a parent whose children cascade (or SET NULL) on delete."""
    parsed = ctx.migration
    for index in parsed.indexes("DROP"):
        shape, snapshot = parsed.shapes[index], ctx.at(index)
        if not shape.is_drop() or not shape.name or snapshot is None:
            continue
        hit = affected_children(snapshot, shape.name, _dropped_anyway(ctx, index))
        restored = _restored_later(ctx, index)
        open_ = {child: how for child, how in hit.items() if child not in restored}
        if open_:
            yield ctx.finding(
                "D002",
                parsed.statements[index].line,
                _cascade_message(ctx, shape.name, open_),
                subjects=open_,
            )


def affected_children(snapshot: SchemaSnapshot, parent: str, gone: set[str]) -> dict[str, str]:
    """``{child table: how}`` for rows a DROP of ``parent`` deletes or nulls, following cascades."""
    hit: dict[str, str] = {}
    queue = [parent.lower()]
    while queue:
        current = queue.pop(0)
        for child, key in snapshot.references_to(current):
            name = child.lower()
            if name in hit or name == parent.lower() or name in gone or key.on_delete not in _LOSSY:
                continue
            via = "" if current == parent.lower() else f" via {current}"
            hit[name] = f"ON DELETE {key.on_delete}{via}"
            if key.on_delete == "CASCADE":
                queue.append(name)
    return hit


def _dropped_anyway(ctx: Context, index: int) -> set[str]:
    """Tables this migration drops itself, before or after the parent: losing their rows
    to the cascade loses nothing, unless the migration still copies from them after it."""
    shapes = ctx.migration.shapes
    dropped = {s.name.lower() for s in shapes if s.is_drop() and s.name}
    read_later = {s.copy_from.lower() for s in shapes[index + 1 :] if s.copy_from}
    return dropped - read_later


def _restored_later(ctx: Context, index: int) -> set[str]:
    # The safe pattern re-inserts (or updates back) the children after the drop.
    later = ctx.migration.shapes[index + 1 :]
    return {s.name for s in later if s.verb in ("INSERT", "UPDATE") and s.name}


def _cascade_message(ctx: Context, parent: str, children: dict[str, str]) -> str:
    listed = ", ".join(f"{child} ({how})" for child, how in sorted(children.items()))
    recreated = any(r.dropped == parent for r in ctx.migration.recreations)
    what = f"recreating {parent}" if recreated else f"dropping {parent}"
    return (
        f"{what} deletes or nulls the rows of {listed} on D1: DROP TABLE runs an implicit DELETE "
        "that fires ON DELETE actions, and PRAGMA foreign_keys=OFF does nothing there. "
        + safe_recipe(parent, children, ctx.migration.database)
    )


def safe_recipe(parent: str, children: dict[str, str], database: str | None = None) -> str:
    """Where to get a migration that changes ``parent`` and keeps its children's rows."""
    return (
        f"`orchestrate recreate {parent} --db {database or 'DATABASE'}` writes one that keeps them: "
        f"it copies {parent} and its cascading children into backup tables (ordinary ones: D1 "
        "refuses TEMP tables), defers foreign-key checks with PRAGMA defer_foreign_keys = on (which does not "
        "stop cascades), rebuilds the table, then restores the children's rows and keys, all in "
        "one migration (docs/recreate.md)"
    )


def check_transaction_statements(ctx: Context) -> Iterator[Finding]:
    """D003: BEGIN/COMMIT/END/ROLLBACK/SAVEPOINT/RELEASE."""
    for index in ctx.migration.indexes(*_TRANSACTION):
        shape = ctx.migration.shapes[index]
        if shape.verb in _TRANSACTION:
            yield ctx.finding(
                "D003",
                ctx.migration.statements[index].line,
                f"{shape.verb} is rejected by remote D1 (local miniflare accepts it); remove it — "
                "each migration already runs as one atomic batch",
            )


def check_forbidden_statements(ctx: Context) -> Iterator[Finding]:
    """D004: ATTACH, DETACH, VACUUM."""
    for index in ctx.migration.indexes(*_FORBIDDEN):
        shape = ctx.migration.shapes[index]
        if shape.verb in _FORBIDDEN:
            yield ctx.finding(
                "D004", ctx.migration.statements[index].line, f"D1 rejects {shape.verb}; remove it"
            )


def check_reserved_names(ctx: Context) -> Iterator[Finding]:
    """D005: creating (or renaming to) ``_cf_*`` or ``sqlite_*``."""
    for index in ctx.migration.indexes("CREATE", "ALTER"):
        shape = ctx.migration.shapes[index]
        name = (
            shape.new_name
            if shape.action == "RENAME TABLE"
            else shape.name
            if shape.verb == "CREATE"
            else None
        )
        if name and name.lower().startswith(_RESERVED):
            owner = "D1" if name.lower().startswith("_cf_") else "SQLite"
            yield ctx.finding(
                "D005",
                ctx.migration.statements[index].line,
                f"{name} is a reserved name ({owner} owns {name[: name.index('_', 1) + 1]}*); choose another",
            )


def check_statement_size(ctx: Context) -> Iterator[Finding]:
    """D006: one statement over D1's 100 KB limit."""
    for statement in ctx.migration.statements:
        # A character is at most 4 bytes in UTF-8: most statements need no encoding.
        if len(statement.text) * 4 > MAX_STATEMENT_BYTES and statement.size > MAX_STATEMENT_BYTES:
            yield ctx.finding(
                "D006",
                statement.line,
                f"statement is {statement.size:,} bytes; D1 rejects statements over "
                f"{MAX_STATEMENT_BYTES:,} bytes — split it (e.g. several INSERTs of fewer rows)",
            )


def check_temp_objects(ctx: Context) -> Iterator[Finding]:
    """D007: CREATE TEMP TABLE/VIEW/TRIGGER."""
    for index in ctx.migration.indexes("CREATE"):
        shape = ctx.migration.shapes[index]
        if shape.temp and shape.object in OBJECTS:
            yield ctx.finding(
                "D007",
                ctx.migration.statements[index].line,
                f"D1 refuses CREATE TEMP {shape.object} (not authorized); use an ordinary "
                f"{shape.object.lower()} and drop it at the end of the migration",
            )


def check_glued_comments(ctx: Context) -> Iterator[Finding]:
    """D008: a block comment with no space on either side, between tokens that then merge."""
    if "/*" not in ctx.migration.sql:
        return
    for statement in ctx.migration.statements:
        if "/*" not in statement.text:
            continue
        tokens = list(tokenize(statement.text))
        for before, comment, after in zip(tokens, tokens[1:], tokens[2:], strict=False):
            if comment.kind is Kind.COMMENT and comment.text.startswith("/*"):
                joined = before.text[-1:] + after.text[:1]
                if before.is_code and after.is_code and _merges(joined):
                    yield ctx.finding(
                        "D008",
                        comment.line,
                        f"{before.text}{comment.text}{after.text} reaches D1 as "
                        f"{before.text}{after.text}: wrangler and orchestrate strip comments "
                        "without leaving a space, so the two tokens merge; put a space "
                        "before or after the comment",
                    )


def _merges(pair: str) -> bool:
    # Two word characters fuse into one word; "--" and "/*" start a comment.
    return all(c.isalnum() or c in "_$" for c in pair) or pair in ("--", "/*")
