"""``check --format markdown``: errors first and shown, the rest in <details>, the Mermaid
graph within GitHub's 50,000 characters, the whole within a comment's 65,536."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from orchestrator.checks.findings import Finding
from orchestrator.checks.service import LintReport
from orchestrator.cli.commands import app
from orchestrator.model import Severity
from orchestrator.reporting.comment import (
    COMMENT_LIMIT,
    fit_comment,
    mermaid_for_comment,
    render_check_markdown,
)
from orchestrator.services import make_plan
from orchestrator.settings import load_settings
from tests.conftest import TreeWriter, toml_binding


def test_check_markdown_on_the_fixtures(monorepo: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--root", str(monorepo), "--format", "markdown"])
    assert result.exit_code == 1
    text = result.stdout
    # D002 (with P001's measured rows in it) loses data on D1; notifications' mixed 3-digit
    # names break the strict profile's naming rule; io's N001 is lowered to a warning
    # (workspace.toml) and folds.
    assert text.startswith("### orchestrate check fails: 2 errors,")
    assert "1 error fails or loses data on D1; 1 breaks a convention" in text
    first_details = text.index("<details>")
    assert (
        text.index("**D002**") < text.index("Measured (P001): template_purchases") < first_details
    )
    assert "**P001**" not in text
    assert text.index("packages/notifications/migrations/001_") < first_details
    assert text.index("packages/io/migrations/001_accounts.sql") > first_details
    assert "```mermaid\nflowchart LR" in text
    assert text.count("<details>") == text.count("</details>")


def test_a_large_graph_is_summarised_under_the_limit(tree: TreeWriter) -> None:
    files = {"p/wrangler.toml": toml_binding("p-db", "1" * 8)}
    files |= {f"p/migrations/{n:04d}_step_{n}.sql": "SELECT 1;" for n in range(1, 41)}
    plan = make_plan(load_settings(tree(files)))
    full, note = mermaid_for_comment(plan)
    assert note == "" and full.count("step_") >= 40
    small, note = mermaid_for_comment(plan, limit=len(full) - 1)
    assert "summarised" in note and "40 migrations, 40 pending" in small
    assert len(small) < len(full)
    none, note = mermaid_for_comment(plan, limit=10)
    assert none == "" and "too large" in note


def test_a_huge_report_is_cut_to_a_comment_with_balanced_tags() -> None:
    findings = tuple(
        Finding("N001", Severity.WARNING, "x" * 300, f"m/{n:05d}.sql", 1) for n in range(3000)
    )
    errors = tuple(Finding("D002", Severity.ERROR, "y" * 900, f"e/{n}.sql", 1) for n in range(10))
    text = render_check_markdown(LintReport(".", errors + findings))
    assert len(text) <= COMMENT_LIMIT
    assert text.count("<details>") == text.count("</details>")
    assert "and 2900 more" in text
    huge = render_check_markdown(LintReport(".", errors * 10))
    assert len(huge) <= COMMENT_LIMIT and "cut to fit" in huge
    cut = fit_comment("<details>\n\n```mermaid\n" + "a\n" * 40_000, limit=1000)
    assert len(cut) <= 1000 and cut.count("```") % 2 == 0 and "</details>" in cut
