"""The plan graph of one database: sequence edges within each source, inferred
edges between sources, and a deterministic topological order.

networkx stays inside this package.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.discovery.pattern import path_key
from orchestrator.model import Migration
from orchestrator.planning.references import ObjectRefs, object_refs


@dataclass(frozen=True)
class Ordered:
    """The apply order, inferred cross-source edges, and a cycle if there is one."""

    order: tuple[Migration, ...]
    inferred: tuple[tuple[Migration, Migration], ...]
    cycle: tuple[Migration, ...] = ()  # the first of ``cycles``
    cycles: tuple[tuple[Migration, ...], ...] = ()  # one per knot of the graph, each named


def sort_key(migration: Migration) -> tuple[int, str, tuple[tuple[int, int, str], ...]]:
    """Tie-break rule of the topological order: number, then package, then file (as wrangler
    compares paths: segment by segment, numbered segments by their number)."""
    return (migration.number, migration.package, path_key(migration.file))


def _sorted(migrations: Iterable[Migration]) -> list[Migration]:
    """``sorted(migrations, key=sort_key)``, computing ``path_key`` only where number and
    package tie (splitting every path cost a third of planning 10,000 migrations)."""
    nodes = sorted(migrations, key=lambda m: (m.number, m.package))
    out: list[Migration] = []
    for _, group in itertools.groupby(nodes, key=lambda m: (m.number, m.package)):
        tied = list(group)
        if len(tied) > 1:
            tied.sort(key=lambda m: path_key(m.file))
        out.extend(tied)
    return out


def order_migrations(migrations: Iterable[Migration]) -> Ordered:
    """Order one database's migrations; inferred edges only when several sources feed it."""
    nodes = _sorted(migrations)
    if len({m.source for m in nodes}) <= 1:
        # One source: only sequence edges, so the number order is the topological order.
        return Ordered(tuple(nodes), ())
    import networkx as nx  # imported here: it costs 60 ms and most databases never need it

    graph = nx.DiGraph()
    graph.add_nodes_from(m.file for m in nodes)
    by_file = {m.file: m for m in nodes}
    graph.add_edges_from(_sequence_edges(nodes))
    inferred = _inferred_edges(nodes)
    graph.add_edges_from((a.file, b.file) for a, b in inferred)
    keys = {m.file: sort_key(m) for m in nodes}
    try:
        files = list(nx.lexicographical_topological_sort(graph, key=keys.__getitem__))
    except nx.NetworkXUnfeasible:
        cycles = tuple(
            tuple(by_file[edge[0]] for edge in nx.find_cycle(graph.subgraph(knot)))
            for knot in sorted(
                (c for c in nx.strongly_connected_components(graph) if len(c) > 1),
                key=lambda c: min(keys[f] for f in c),
            )
        )
        return Ordered(tuple(nodes), tuple(inferred), cycles[0] if cycles else (), cycles)
    return Ordered(tuple(by_file[f] for f in files), tuple(inferred))


def _sequence_edges(nodes: list[Migration]) -> list[tuple[str, str]]:
    by_source: dict[str, list[Migration]] = defaultdict(list)
    for migration in nodes:
        by_source[migration.source].append(migration)
    edges: list[tuple[str, str]] = []
    for members in by_source.values():
        edges.extend((a.file, b.file) for a, b in itertools.pairwise(members))
    return edges


def _inferred_edges(nodes: list[Migration]) -> list[tuple[Migration, Migration]]:
    refs: dict[str, ObjectRefs] = {m.file: object_refs(m.sql) for m in nodes}
    creators: dict[str, list[Migration]] = defaultdict(list)
    for migration in nodes:
        for name in refs[migration.file].created:
            creators[name].append(migration)
    edges: dict[tuple[str, str], tuple[Migration, Migration]] = {}
    for migration in nodes:
        for name in sorted(refs[migration.file].referenced):
            creator = _creator_for(migration, creators.get(name, []))
            if creator is not None and creator.source != migration.source:
                edges[(creator.file, migration.file)] = (creator, migration)
    return list(edges.values())


def _creator_for(user: Migration, candidates: list[Migration]) -> Migration | None:
    """The latest creator numbered below the user; else the first creator."""
    earlier = [c for c in candidates if c.number < user.number]
    if earlier:
        return earlier[-1]
    return candidates[0] if candidates else None
