"""One problem, one finding: a static finding and the measurement that confirms it.

A static rule predicts (D002: this DROP TABLE cascades into these child tables) and a
measuring rule sees (P001: these tables lost these rows on the shadow). Where both
stand on one line about the same tables, they are one finding: the static rule's code,
explanation and fix, with the measured numbers added, at the more severe of the two
severities. What the measurement saw about tables the static finding does not name
stays a finding of the measuring rule; a static finding that nothing measured, and a
measurement that no static rule explains, stay as they are. Which rules pair up is
rule metadata (``Rule.confirms`` in the catalog).

This runs after grading and suppression, so every ``[lint]`` setting and suppression
comment means what it meant when the two were separate findings. It only ever touches
the paired rules: a first-run failure on the shadow (L004) is never folded into anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from orchestrator.checks.catalog import CONFIRMS, rule
from orchestrator.checks.findings import Evidence, Finding
from orchestrator.checks.rules.dataloss import loss_message
from orchestrator.model import Severity

# How a measuring rule words what is left of it once a static finding took some tables.
RESTATE: Mapping[str, Callable[[Iterable[str]], str]] = {"P001": loss_message}
_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
Place = tuple[str | None, int | None]


def merge_measured(
    findings: Sequence[Finding], confirms: Mapping[str, tuple[str, ...]] = CONFIRMS
) -> list[Finding]:
    """``findings`` with each measurement folded into the static finding it confirms
    (same file, same line, same tables), in the static finding's place."""
    statics = _statics(findings, confirms)
    taken: dict[int, list[tuple[Finding, list[Evidence]]]] = {}
    left: dict[int, list[Evidence]] = {}
    for index, measured in enumerate(findings):
        if measured.rule not in confirms or not measured.evidence:
            continue
        rest = list(measured.evidence)
        for target in statics.get((measured.file, measured.line), ()):
            if findings[target].rule not in confirms[measured.rule]:
                continue
            mine = [e for e in rest if e.subject in findings[target].subjects]
            if mine:
                taken.setdefault(target, []).append((measured, mine))
                rest = [e for e in rest if e not in mine]
        if len(rest) < len(measured.evidence):
            left[index] = rest
    result = []
    for index, finding in enumerate(findings):
        if index in taken:
            result.append(confirmed(finding, taken[index]))
        elif index not in left:
            result.append(finding)
        elif left[index]:
            result.append(restated(finding, left[index]))
    return result


def _statics(
    findings: Sequence[Finding], confirms: Mapping[str, tuple[str, ...]]
) -> dict[Place, list[int]]:
    # Static findings a measurement may confirm, by place; only those that name tables.
    wanted = {code for codes in confirms.values() for code in codes}
    places: dict[Place, list[int]] = {}
    for index, finding in enumerate(findings):
        if finding.rule in wanted and finding.subjects:
            places.setdefault((finding.file, finding.line), []).append(index)
    return places


def confirmed(static: Finding, measurements: list[tuple[Finding, list[Evidence]]]) -> Finding:
    """The static finding, with what each measurement saw of its tables."""
    severity = min((static, *(m for m, _ in measurements)), key=lambda f: _RANK[f.severity])
    parts = [
        f"Measured ({measured.rule}): " + "; ".join(e.text for e in evidence)
        for measured, evidence in measurements
    ]
    evidence = tuple(e for _, mine in measurements for e in mine)
    message = static.message.rstrip().rstrip(".") + ". " + ". ".join(parts)
    return replace(
        static,
        severity=severity.severity,
        message=message,
        evidence=static.evidence + evidence,
    )


def restated(measured: Finding, rest: list[Evidence]) -> Finding:
    """A measurement reduced to the tables no static finding on its line names."""
    words = RESTATE.get(measured.rule)
    texts = [e.text for e in rest]
    message = words(texts) if words else f"{rule(measured.rule).summary}: {'; '.join(texts)}"
    subjects = tuple(sorted({e.subject for e in rest}))
    return replace(measured, message=message, subjects=subjects, evidence=tuple(rest))
