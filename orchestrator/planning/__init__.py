"""Planning: pure functions from the model (plus a target's ledger rows) to a ``Plan``."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.discovery.naming import canonical_of
from orchestrator.model import (
    Database,
    DatabasePlan,
    LedgerRow,
    Migration,
    Plan,
    Problem,
    Severity,
    Status,
    Step,
    Workspace,
)
from orchestrator.planning.graph import Ordered, order_migrations

Ledgers = Mapping[str, Sequence[LedgerRow]]


def build_plan(
    workspace: Workspace,
    ledgers: Ledgers | None = None,
    *,
    target: str = "local",
    root: str = ".",
) -> Plan:
    """Plan every database of ``workspace``; ``ledgers`` maps database key to applied rows.

    A database missing from ``ledgers`` has nothing applied (no ledger yet).
    """
    ledgers = ledgers or {}
    by_database: defaultdict[str | None, list[Problem]] = defaultdict(list)
    for problem in workspace.problems:  # grouped once: one problem per database is common
        by_database[problem.database].append(problem)
    plans = {}
    for db in workspace.databases:
        own = tuple(by_database.get(db.name, ()))
        plans[db.key] = plan_database(db, ledgers.get(db.key), db.key in ledgers, own)
    edges, db_problems, order = database_graph(workspace.databases, workspace.known_databases)
    ordered = tuple(plans[key] for key in order)
    general = tuple(p for p in workspace.problems if p.database is None) + tuple(db_problems)
    return Plan(root, target, workspace.env, ordered, general, edges)


def plan_database(
    database: Database,
    rows: Sequence[LedgerRow] | None,
    read: bool = False,
    found: tuple[Problem, ...] = (),
) -> DatabasePlan:
    """Order one database's migrations and mark each applied, pending or changed."""
    ordered = order_migrations(database.migrations)
    problems = [*found, *_naming_problems(database), *_cycle_problems(database, ordered)]
    applied = {canonical_of(row.name): row for row in rows or ()}
    steps = _steps(ordered, applied)
    problems += _ledger_problems(database, steps, applied)
    inferred = tuple((a.name, b.name) for a, b in ordered.inferred)
    return DatabasePlan(database, steps, tuple(problems), inferred, read)


def _steps(ordered: Ordered, applied: Mapping[str, LedgerRow]) -> tuple[Step, ...]:
    after: dict[str, list[str]] = defaultdict(list)
    for a, b in ordered.inferred:
        after[b.file].append(a.name)
    last_applied = max((i for i, m in enumerate(ordered.order) if m.name in applied), default=-1)
    steps = []
    for index, migration in enumerate(ordered.order):
        row = applied.get(migration.name)
        status = _status(migration, row)
        late = status is Status.PENDING and index < last_applied
        when = row.applied_at if row else None
        steps.append(Step(migration, status, tuple(after[migration.file]), when, late))
    return tuple(steps)


def _status(migration: Migration, row: LedgerRow | None) -> Status:
    if row is None:
        return Status.PENDING
    if row.checksum and row.checksum != migration.checksum:
        return Status.CHANGED
    return Status.APPLIED


def _naming_problems(database: Database) -> list[Problem]:
    problems = []
    by_name: dict[str, list[Migration]] = defaultdict(list)
    by_number: dict[int, set[str]] = defaultdict(set)
    for migration in database.migrations:
        by_name[migration.name].append(migration)
        if migration.numbered:
            by_number[migration.number].add(migration.name)
    for name, group in sorted(by_name.items()):
        if len(group) > 1:
            files = ", ".join(m.file for m in group)
            message = f"{len(group)} sources give this database the migration {name}: {files}"
            problems.append(
                _problem(Severity.ERROR, "plan.duplicate-name", message, database, group[0].file)
            )
    for number, names in sorted(by_number.items()):
        if len(names) > 1:
            message = f"number {number:04d} is used by {len(names)} migrations: {', '.join(sorted(names))}"
            problems.append(_problem(Severity.WARNING, "naming.shared-number", message, database))
    gaps = _gaps(sorted(by_number))
    if gaps:
        message = f"gap in the sequence: {', '.join(gaps)} missing"
        problems.append(_problem(Severity.WARNING, "naming.gap", message, database))
    return problems


def _gaps(numbers: list[int]) -> list[str]:
    gaps = []
    for low, high in itertools.pairwise(numbers):
        if high - low == 2:
            gaps.append(f"{low + 1:04d}")
        elif high - low > 2:
            gaps.append(f"{low + 1:04d}-{high - 1:04d}")
    return gaps


def _cycle_problems(database: Database, ordered: Ordered) -> list[Problem]:
    """One error per cycle, each named (not only the first the graph search met)."""
    problems = []
    for cycle in ordered.cycles or ((ordered.cycle,) if ordered.cycle else ()):
        chain = " -> ".join(m.file for m in (*cycle, cycle[0]))
        message = f"migrations depend on each other in a cycle: {chain}"
        problems.append(_problem(Severity.ERROR, "plan.cycle", message, database, cycle[0].file))
    return problems


def _ledger_problems(
    database: Database, steps: tuple[Step, ...], applied: Mapping[str, LedgerRow]
) -> list[Problem]:
    problems = []
    known = {s.migration.name for s in steps}
    for name in sorted(set(applied) - known):
        message = f"the ledger records {name}, but no migration file has that name"
        problems.append(_problem(Severity.WARNING, "ledger.unknown", message, database))
    for step in steps:
        if step.status is Status.CHANGED:
            message = "applied, but the file has changed since; restore it or accept it with `orchestrate repair`"
            problems.append(
                _problem(Severity.ERROR, "ledger.changed", message, database, step.migration.file)
            )
        if step.out_of_order:
            message = "pending, but numbered below a migration already applied (out of order)"
            problems.append(
                _problem(
                    Severity.WARNING, "plan.out-of-order", message, database, step.migration.file
                )
            )
    return problems


def database_graph(
    databases: tuple[Database, ...], known: tuple[str, ...] = ()
) -> tuple[tuple[tuple[str, str], ...], list[Problem], list[str]]:
    """Edges ``(dependency, dependent)`` between databases from ``depends_on``, and an order of keys.

    A dependency that exists but is not selected (``--db``) is no error: it is just not in this run.
    """
    names = {db.name: db for db in databases}
    order_key = {db.key: db.name for db in databases}
    if not any(db.depends_on for db in databases):
        return (), [], sorted(order_key, key=order_key.__getitem__)
    import networkx as nx  # lazily: see planning.graph

    graph = nx.DiGraph()
    graph.add_nodes_from(db.key for db in databases)
    problems: list[Problem] = []
    edges: list[tuple[str, str]] = []
    for db in databases:
        for needed in db.depends_on:
            if needed in known and needed not in names:
                continue
            if needed not in names:
                message = f"depends_on names {needed!r}, which no config binds"
                problems.append(_problem(Severity.ERROR, "config.depends-on", message, db))
                continue
            graph.add_edge(names[needed].key, db.key)
            edges.append((needed, db.name))
    try:
        order = list(nx.lexicographical_topological_sort(graph, key=order_key.__getitem__))
    except nx.NetworkXUnfeasible:
        # Every cycle is named, not only the first one found.
        for cycle in sorted(_named_cycles(graph, order_key)):
            problems.append(
                Problem(
                    Severity.ERROR, "config.depends-cycle", f"depends_on forms a cycle: {cycle}"
                )
            )
        order = sorted(order_key, key=order_key.__getitem__)
    return tuple(edges), problems, order


def _named_cycles(graph: Any, names: dict[str, str]) -> list[str]:
    """Each elementary cycle as ``a -> b -> a``, starting at its smallest name (deterministic)."""
    import networkx as nx

    named = []
    for cycle in nx.simple_cycles(graph):
        labels = [names[k] for k in cycle]
        start = labels.index(min(labels))
        labels = labels[start:] + labels[:start]
        named.append(" -> ".join([*labels, labels[0]]))
    return named


def _problem(
    severity: Severity, code: str, message: str, database: Database, file: str | None = None
) -> Problem:
    return Problem(severity, code, message, file, None, database.name)
