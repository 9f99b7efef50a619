"""Markdown for GitHub: ``check --format markdown`` and the pull-request comment.

GitHub renders a comment of at most 65,536 characters and a Mermaid block of at most
50,000; past either it shows an error instead. So errors come first and whole, the rest
folds into ``<details>``, long lists are cut with a count, and the plan graph is
summarised (one node per database) or left out when even that is too long.
"""

from __future__ import annotations

from orchestrator.checks.catalog import RULES
from orchestrator.checks.findings import Finding
from orchestrator.checks.service import LintReport
from orchestrator.model import Plan, Severity
from orchestrator.reporting.graph import _id, render_mermaid

COMMENT_LIMIT = 65_536
MERMAID_LIMIT = 50_000
ROWS_SHOWN = 100  # findings per table before "… and N more"
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def marker(name: str) -> str:
    """The hidden line that finds orchestrate's own comment again (as atlas-action does)."""
    return f"<!-- orchestrate:{name} -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _where(finding: Finding) -> str:
    if not finding.file:
        return "(workspace)"
    return f"`{finding.file}:{finding.line}`" if finding.line else f"`{finding.file}`"


def findings_table(findings: list[Finding]) -> list[str]:
    """One list item per finding (a list wraps to the comment's width, where a wide table
    would scroll sideways), cut at ``ROWS_SHOWN`` items."""
    lines = []
    for f in findings[:ROWS_SHOWN]:
        lines.append(f"- **{f.rule}** {_where(f)}: {_cell(f.message)}")
    if len(findings) > ROWS_SHOWN:
        lines += ["", f"… and {len(findings) - ROWS_SHOWN} more: run `orchestrate check`."]
    return lines


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _error_meaning(errors: list[Finding]) -> str:
    """What the errors mean: D1 failures and data loss, and (strict profile) conventions."""
    convention = {r.code for r in RULES if r.convention}
    conventions = sum(1 for f in errors if f.rule in convention)
    if not conventions:
        return "Each error fails on D1 or loses data there."
    hazards = len(errors) - conventions
    if not hazards:
        return 'Each error breaks a team convention that `[lint] profile = "strict"` enforces.'
    return (
        f"{_plural(hazards, 'error')} {'fails or loses' if hazards == 1 else 'fail or lose'} "
        "data on D1; "
        f"{conventions} {'breaks' if conventions == 1 else 'break'} a convention that "
        '`[lint] profile = "strict"` enforces.'
    )


def render_check_markdown(report: LintReport, plan: Plan | None = None) -> str:
    """Findings, errors first and shown; warnings, notes, replay and graph folded."""
    ordered = sorted(report.findings, key=lambda f: (_ORDER[f.severity], f.sort_key))
    by = {s: [f for f in ordered if f.severity is s] for s in _ORDER}
    errors, warnings, infos = by[Severity.ERROR], by[Severity.WARNING], by[Severity.INFO]
    verdict = "fails" if errors else "passes"
    lines = [
        f"### orchestrate check {verdict}: {_plural(len(errors), 'error')}, "
        f"{_plural(len(warnings), 'warning')}",
        "",
    ]
    if errors:
        lines += [_error_meaning(errors), "", *findings_table(errors), ""]
    for title, group in (("warning", warnings), ("note", infos)):
        if group:
            lines += _details(_plural(len(group), title), findings_table(group))
    if report.replays:
        lines += _details("shadow replay", _replay_lines(report))
    if plan is not None:
        graph, note = mermaid_for_comment(plan)
        body = (["```mermaid", graph.rstrip("\n"), "```"] if graph else []) + (
            [note] if note else []
        )
        lines += _details("plan graph", body)
    return fit_comment("\n".join(lines) + "\n")


def _details(summary: str, body: list[str]) -> list[str]:
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _replay_lines(report: LintReport) -> list[str]:
    lines = ["| database | replayed | stopped at |", "| --- | ---: | --- |"]
    for r in report.replays:
        stopped = f"`{r.stopped_at}`" if r.stopped_at else "-"
        lines.append(f"| `{r.database}` | {r.replayed} of {r.migrations} | {stopped} |")
    return lines


def mermaid_for_comment(plan: Plan, limit: int = MERMAID_LIMIT) -> tuple[str, str]:
    """The plan graph if it fits; else one node per database; else nothing (with a note)."""
    full = render_mermaid(plan)
    if len(full) <= limit:
        return full, ""
    summary = summary_mermaid(plan)
    note = f"The full graph has {len(full):,} characters, over GitHub's {limit:,}: summarised."
    if len(summary) <= limit:
        return summary, note + " Run `orchestrate graph` for every migration."
    return "", "The graph is too large for GitHub; run `orchestrate graph --format mermaid`."


def summary_mermaid(plan: Plan) -> str:
    """One node per database (its migration and pending counts) and the depends_on edges."""
    lines = ["flowchart LR"]
    for db in plan.databases:
        name = db.database.name
        label = f"{name}<br/><small>{len(db.steps)} migrations, {len(db.pending)} pending</small>"
        lines.append(f'  {_id("db", name)}["{label}"]')
    lines += [f"  {_id('db', a)} --> {_id('db', b)}" for a, b in plan.database_edges]
    return "\n".join(lines) + "\n"


def fit_comment(text: str, limit: int = COMMENT_LIMIT) -> str:
    """``text`` cut to GitHub's comment size at a line, saying so (tags stay balanced)."""
    if len(text) <= limit:
        return text
    note = "\n\n… cut to fit GitHub's comment size: run the command for the whole report.\n"
    kept = text[: limit - len(note) - 200].rsplit("\n", 1)[0]
    opened = kept.count("<details>") - kept.count("</details>")
    fence = "\n```" if kept.count("```") % 2 else ""
    return kept + fence + "\n\n</details>" * opened + note
