"""P001: the data-loss probe's measurement, as a finding."""

from __future__ import annotations

from collections.abc import Iterator

from orchestrator.checks.findings import Finding
from orchestrator.checks.probe import RowLoss
from orchestrator.checks.rules.base import Context


def check_data_loss(ctx: Context) -> Iterator[Finding]:
    """P001: tables that lost rows (or FK values) the migration did not delete."""
    losses = ctx.step.losses if ctx.step else ()
    if not losses:
        return
    parsed = ctx.migration
    line = next(
        (
            s.line
            for s, shape in zip(parsed.statements, parsed.shapes, strict=True)
            if shape.is_drop() or shape.verb == "DELETE"
        ),
        parsed.statements[0].line if parsed.statements else 1,
    )
    described = "; ".join(describe_loss(loss) for loss in losses)
    yield ctx.finding(
        "P001",
        line,
        f"measured with synthetic rows: {described} — this migration never deletes from them; "
        "on D1 real rows go the same way (see D002 for the safe pattern)",
    )


def describe_loss(loss: RowLoss) -> str:
    """``template_versions kept 0 of 7 rows`` / ``templates.creator_id kept 0 of 3 values``."""
    if loss.column:
        return f"{loss.table}.{loss.column} kept {loss.after} of {loss.before} values (set to NULL)"
    return f"{loss.table} kept {loss.after} of {loss.before} rows"
