"""The package's module-level imports form no cycle (checks/service.py ↔ services.py was one)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "orchestrator"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        here = _module(path)
        for node in ast.parse(path.read_text()).body:  # module level only, as Python runs them
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("orchestrator"):
                targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("orchestrator")]
            else:
                continue
            graph.add_edges_from((here, target) for target in targets if target != here)
    return graph


def test_no_import_cycle() -> None:
    graph = import_graph()
    assert graph.has_edge("orchestrator.services", "orchestrator.planning")  # it sees edges
    assert list(nx.simple_cycles(graph)) == []
