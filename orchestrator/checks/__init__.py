"""Checks before shipping: static rules over parsed SQL, and a shadow replay of
each database's plan on an in-memory SQLite run as D1 runs it.

Public entry points: ``lint_workspace`` and ``check_workspace`` (``service``),
``replay`` and ``snapshot_schema`` for commands that need a shadow database.
"""

from __future__ import annotations

from orchestrator.checks.catalog import RULES
from orchestrator.checks.findings import Finding, Rule
from orchestrator.checks.schema import SchemaSnapshot, snapshot_schema
from orchestrator.checks.service import LintReport, check_workspace, lint_workspace
from orchestrator.checks.shadow import Replay, ReplayOptions, open_shadow, replay

__all__ = [
    "RULES",
    "Finding",
    "LintReport",
    "Replay",
    "ReplayOptions",
    "Rule",
    "SchemaSnapshot",
    "check_workspace",
    "lint_workspace",
    "open_shadow",
    "replay",
    "snapshot_schema",
]
