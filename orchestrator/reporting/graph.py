"""``orchestrate graph``: each database's plan graph (sequence edges within a
source, inferred edges between sources) and the database graph from ``depends_on``,
as Mermaid (renders on GitHub as it is), Graphviz DOT, or text."""

from __future__ import annotations

import re

from orchestrator.model import DatabasePlan, Plan

Edge = tuple[str, str]


def sequence_edges(db: DatabasePlan) -> list[Edge]:
    """Consecutive migrations of each source, in apply order."""
    last: dict[str, str] = {}
    edges = []
    for step in db.steps:
        source = step.migration.source
        if source in last:
            edges.append((last[source], step.migration.name))
        last[source] = step.migration.name
    return edges


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in parts)


def render_mermaid(plan: Plan) -> str:
    """A Mermaid flowchart; inferred cross-package edges are dotted and labelled."""
    lines = ["flowchart LR"]
    if plan.database_edges:
        lines.append('  subgraph databases ["databases (depends_on)"]')
        lines += [
            f'    {_id("db", a)}["{a}"] --> {_id("db", b)}["{b}"]' for a, b in plan.database_edges
        ]
        lines.append("  end")
    for db in plan.databases:
        name = db.database.name
        lines.append(f'  subgraph {_id("g", name)} ["{name}"]')
        for step in db.steps:
            m = step.migration
            lines.append(f'    {_id(name, m.name)}["{m.name}<br/><small>{m.package}</small>"]')
        lines += [f"    {_id(name, a)} --> {_id(name, b)}" for a, b in sequence_edges(db)]
        lines += [
            f"    {_id(name, a)} -. inferred .-> {_id(name, b)}" for a, b in db.inferred_edges
        ]
        lines.append("  end")
    return "\n".join(lines) + "\n"


def render_dot(plan: Plan) -> str:
    """Graphviz DOT; inferred edges are dashed."""
    lines = ["digraph orchestrate {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    for a, b in plan.database_edges:
        lines.append(f'  "db:{a}" -> "db:{b}" [style=bold, label="depends_on"];')
    for db in plan.databases:
        name = db.database.name
        lines.append(f'  subgraph "cluster_{name}" {{')
        lines.append(f'    label="{name}";')
        for step in db.steps:
            lines.append(
                f'    "{name}/{step.migration.name}" [label="{step.migration.name}\\n{step.migration.package}"];'
            )
        lines += [f'    "{name}/{a}" -> "{name}/{b}";' for a, b in sequence_edges(db)]
        lines += [
            f'    "{name}/{a}" -> "{name}/{b}" [style=dashed, label="inferred"];'
            for a, b in db.inferred_edges
        ]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_graph_text(plan: Plan) -> str:
    """The order per database, with inferred edges spelled out."""
    lines = []
    if plan.database_edges:
        lines.append("databases: " + ", ".join(f"{a} -> {b}" for a, b in plan.database_edges))
    for db in plan.databases:
        lines.append(f"{db.database.name}:")
        for step in db.steps:
            after = f"   (after {', '.join(step.after)}: inferred)" if step.after else ""
            lines.append(f"  {step.migration.name}  [{step.migration.package}]{after}")
    return "\n".join(lines) + "\n"
