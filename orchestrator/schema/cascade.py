"""What ``DROP TABLE parent`` does to other tables' rows on D1, where foreign keys
are always on: ON DELETE CASCADE deletes child rows (and their own children's, in
turn), SET NULL / SET DEFAULT overwrite the child's key. NO ACTION and RESTRICT
children keep their rows; under ``defer_foreign_keys`` their check waits until the
parent is refilled. Also: which triggers and views a table swap must set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.checks.schema import Other, SchemaSnapshot
from orchestrator.sqltext import Kind, tokenize

_RESETS = ("SET NULL", "SET DEFAULT")


@dataclass(frozen=True)
class Effect:
    """How dropping the parent touches one table: rows deleted, and/or key columns reset."""

    table: str
    deletes: bool
    reset: tuple[tuple[str, ...], ...]
    how: tuple[str, ...]


@dataclass
class _Found:
    table: str
    deletes: bool = False
    reset: list[tuple[str, ...]] = field(default_factory=list)
    how: list[str] = field(default_factory=list)


def cascade_effects(schema: SchemaSnapshot, parent: str) -> tuple[Effect, ...]:
    """Every table whose rows ``DROP TABLE parent`` deletes or changes, nearest first."""
    found: dict[str, _Found] = {}
    queue, expanded = [parent.lower()], {parent.lower()}
    while queue:
        current = queue.pop(0)
        for child, key in schema.references_to(current):
            action = key.on_delete.upper()
            if child.lower() == parent.lower() or (action != "CASCADE" and action not in _RESETS):
                continue
            entry = found.setdefault(child.lower(), _Found(child))
            via = "" if current == parent.lower() else f" via {current}"
            entry.how.append(f"ON DELETE {action}{via}")
            if action in _RESETS:
                entry.reset.append(key.columns)
                continue
            entry.deletes = True
            if child.lower() not in expanded:
                expanded.add(child.lower())
                queue.append(child.lower())
    return tuple(Effect(f.table, f.deletes, tuple(f.reset), tuple(f.how)) for f in found.values())


def set_aside(schema: SchemaSnapshot, tables: set[str]) -> tuple[Other, ...]:
    """Views and triggers on, or naming, ``tables`` (and views naming those views).

    ``ALTER TABLE … RENAME`` re-checks every view and trigger, so one that names the
    dropped table would fail it; triggers on the children would fire during the swap.
    Views come out in an order they can be recreated in; triggers last.
    """
    names = {t.lower() for t in tables}
    chosen: dict[str, Other] = {}
    grew = True
    while grew:
        grew = False
        for other in schema.others:
            key = other.name.lower()
            if key in chosen or not (other.table.lower() in names or mentions(other, names)):
                continue
            chosen[key] = other
            names.add(key)
            grew = True
    views = _views_in_order([o for o in chosen.values() if o.type == "view"])
    return (*views, *sorted((o for o in chosen.values() if o.type == "trigger"), key=_name))


def mentions(other: Other, names: set[str]) -> bool:
    """True when ``other``'s SQL names one of ``names`` (string literals do not count)."""
    own = other.name.lower()
    return any(
        t.kind in (Kind.IDENT, Kind.QUOTED) and t.name in names and t.name != own
        for t in tokenize(other.sql)
    )


def _views_in_order(views: list[Other]) -> list[Other]:
    ordered: list[Other] = []
    remaining = sorted(views, key=_name)
    while remaining:
        placed = {v.name.lower() for v in ordered}
        ready = next(
            (v for v in remaining if not mentions(v, {r.name.lower() for r in remaining} - placed)),
            remaining[0],
        )
        ordered.append(ready)
        remaining.remove(ready)
    return ordered


def _name(other: Other) -> str:
    return other.name.lower()
