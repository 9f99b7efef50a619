"""P001: the data-loss probe's measurement, as a finding."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from orchestrator.checks.findings import Evidence, Finding
from orchestrator.checks.probe import RowLoss
from orchestrator.checks.rules.base import Context
from orchestrator.checks.rules.d1 import affected_children


def check_data_loss(ctx: Context) -> Iterator[Finding]:
    """P001: tables that lost rows (or FK values) the migration did not delete.

    Each loss is reported at the DROP TABLE whose ON DELETE actions reach that table
    (where D002 stands, so the two become one finding); a loss no drop explains (a
    trigger, a REPLACE, a DELETE that cascades) at the first statement that removes rows.
    """
    losses = ctx.step.losses if ctx.step else ()
    if not losses:
        return
    causes = _drop_reach(ctx)
    fallback = _first_removal_line(ctx)
    by_line: dict[int, list[RowLoss]] = {}
    for loss in losses:
        line = next((at for at, reach in causes if loss.table.lower() in reach), fallback)
        by_line.setdefault(line, []).append(loss)
    for line, group in sorted(by_line.items()):
        evidence = tuple(Evidence(loss.table.lower(), describe_loss(loss)) for loss in group)
        yield ctx.finding(
            "P001",
            line,
            loss_message(e.text for e in evidence),
            subjects=(e.subject for e in evidence),
            evidence=evidence,
        )


def loss_message(measured: Iterable[str]) -> str:
    """P001's wording for what the probe measured (also for what is left after a merge)."""
    return (
        f"measured with synthetic rows: {'; '.join(measured)} — this migration never deletes "
        "from them; on D1 real rows go the same way (see D002 for the safe pattern)"
    )


def describe_loss(loss: RowLoss) -> str:
    """``template_versions kept 0 of 7 rows`` / ``templates.creator_id kept 0 of 3 values``."""
    if loss.column:
        return f"{loss.table}.{loss.column} kept {loss.after} of {loss.before} values (set to NULL)"
    return f"{loss.table} kept {loss.after} of {loss.before} rows"


def _drop_reach(ctx: Context) -> list[tuple[int, set[str]]]:
    # (line, tables its ON DELETE actions reach) for each DROP TABLE, in order.
    parsed = ctx.migration
    reach = []
    for index in parsed.indexes("DROP"):
        shape, snapshot = parsed.shapes[index], ctx.at(index)
        if shape.is_drop() and shape.name and snapshot is not None:
            children = affected_children(snapshot, shape.name, set())
            reach.append((parsed.statements[index].line, set(children)))
    return reach


def _first_removal_line(ctx: Context) -> int:
    parsed = ctx.migration
    return next(
        (
            s.line
            for s, shape in zip(parsed.statements, parsed.shapes, strict=True)
            if shape.is_drop() or shape.verb == "DELETE"
        ),
        parsed.statements[0].line if parsed.statements else 1,
    )
