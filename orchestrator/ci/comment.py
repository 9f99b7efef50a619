"""The pull-request comment's body: the plan per database, then the check findings."""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.checks.service import check_workspace
from orchestrator.engines import Engine
from orchestrator.reporting.comment import fit_comment, marker, render_check_markdown
from orchestrator.reporting.plan import render_plan_markdown
from orchestrator.services import make_plan
from orchestrator.settings import Settings


def comment_body(
    settings: Settings, env: str | None, names: tuple[str, ...], engine: Engine, name: str
) -> tuple[str, bool]:
    """The Markdown (hidden marker first), and whether check found errors."""
    plan = make_plan(settings, env, names, engine)
    report = check_workspace(settings, env, names)
    parts = [marker(name), render_plan_markdown(plan), render_check_markdown(report, plan)]
    return fit_comment("\n".join(p.rstrip("\n") + "\n" for p in parts)), report.has_errors


def append_step_summary(body: str) -> bool:
    """Add ``body`` to the job's summary page (``$GITHUB_STEP_SUMMARY``) when there is one."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with Path(path).open("a", encoding="utf-8") as summary:
        summary.write(body if body.endswith("\n") else body + "\n")
    return True
