"""The labelled corpus under ``tests/corpus``: small migration sets in the shapes real
teams ship (drizzle-kit, prisma, hand-written), each with the findings it must produce.

Each case is a directory with ``case.toml`` and ``migrations/*.sql`` (and, for some
drizzle cases, ``migrations/meta/_journal.json``)::

    kind = "data-loss"          # data-loss | d1-failure | hazard | clean | convention
    errors = ["D002"]           # errors under the default profile (exactly these)
    measured = ["D002"]         # findings that must carry the probe's measured numbers
    strict = ["I001"]           # further errors under the strict profile
    findings = ["D001"]         # findings (any severity) it must produce
    not_errors = ["R001"]       # rules that once raised a false error here

The case runs as a one-package workspace through ``check_workspace``, as a user runs it.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from orchestrator.checks.findings import Finding
from orchestrator.checks.service import check_workspace
from orchestrator.settings import load_settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PROFILES = ("default", "strict")
# Cases whose errors must all be found (recall 1.0): they fail or lose data on D1.
MUST_CATCH = ("data-loss", "d1-failure")
WRANGLER = """\
name = "corpus"
[[d1_databases]]
binding = "DB"
database_name = "corpus-db"
database_id = "00000000-0000-0000-0000-00000000c0de"
migrations_dir = "migrations"
"""


@dataclass(frozen=True)
class Case:
    """One labelled migration set."""

    name: str
    path: Path
    kind: str
    errors: frozenset[str]
    strict: frozenset[str]
    findings: frozenset[str]
    not_errors: frozenset[str]
    measured: frozenset[str] = frozenset()

    def expected(self, profile: str) -> frozenset[str]:
        """The error rules this case must raise under ``profile`` (and no others)."""
        return self.errors | (self.strict if profile == "strict" else frozenset())


def load_cases(corpus: Path = CORPUS) -> list[Case]:
    """Every case under ``corpus``, by name."""
    return [_case(path) for path in sorted(corpus.iterdir()) if (path / "case.toml").is_file()]


def _case(path: Path) -> Case:
    raw = tomllib.loads((path / "case.toml").read_text(encoding="utf-8"))
    return Case(
        path.name,
        path,
        str(raw["kind"]),
        frozenset(raw.get("errors", ())),
        frozenset(raw.get("strict", ())),
        frozenset(raw.get("findings", ())),
        frozenset(raw.get("not_errors", ())),
        frozenset(raw.get("measured", ())),
    )


def run_case(case: Case, profile: str, work: Path) -> tuple[Finding, ...]:
    """``check`` on the case as a one-package workspace under ``work``."""
    root = work / f"{case.name}-{profile}"
    shutil.rmtree(root, ignore_errors=True)
    package = root / "packages" / "app"
    shutil.copytree(case.path / "migrations", package / "migrations")
    (package / "wrangler.toml").write_text(WRANGLER, encoding="utf-8")
    (root / "workspace.toml").write_text(f'[lint]\nprofile = "{profile}"\n', encoding="utf-8")
    return check_workspace(load_settings(root)).findings


@dataclass(frozen=True)
class Outcome:
    """What ``check`` raised on one case under one profile, against the labels."""

    case: Case
    profile: str
    found: frozenset[str]
    errors: frozenset[str]
    measured: frozenset[str] = frozenset()

    @property
    def true_errors(self) -> frozenset[str]:
        return self.errors & self.case.expected(self.profile)

    @property
    def false_errors(self) -> frozenset[str]:
        return self.errors - self.case.expected(self.profile)

    @property
    def missed(self) -> frozenset[str]:
        return self.case.expected(self.profile) - self.errors

    def problems(self) -> Iterator[str]:
        """Where the case's labels are not met, in words."""
        if self.false_errors:
            yield f"false errors {sorted(self.false_errors)}"
        if self.missed:
            yield f"missed errors {sorted(self.missed)}"
        if self.case.findings - self.found:
            yield f"missing findings {sorted(self.case.findings - self.found)}"
        if self.case.not_errors & self.errors:
            yield f"errors it must not raise {sorted(self.case.not_errors & self.errors)}"
        if self.case.measured - self.measured:
            yield f"findings without measured numbers {sorted(self.case.measured - self.measured)}"


def evaluate(case: Case, profile: str, work: Path) -> Outcome:
    """Run one case and compare with its labels."""
    findings = run_case(case, profile, work)
    return Outcome(
        case,
        profile,
        frozenset(f.rule for f in findings),
        frozenset(f.rule for f in findings if f.is_error),
        frozenset(f.rule for f in findings if f.evidence),
    )


@dataclass(frozen=True)
class Score:
    """Precision of errors over every case, recall over the cases that must be caught."""

    true: int
    false: int
    caught: int
    must_catch: int

    @property
    def precision(self) -> float:
        flagged = self.true + self.false
        return self.true / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        return self.caught / self.must_catch if self.must_catch else 1.0


def score(outcomes: list[Outcome]) -> Score:
    """Count true and false errors, and how many must-catch errors were raised."""
    serious = [o for o in outcomes if o.case.kind in MUST_CATCH]
    return Score(
        sum(len(o.true_errors) for o in outcomes),
        sum(len(o.false_errors) for o in outcomes),
        sum(len(o.true_errors) for o in serious),
        sum(len(o.case.expected(o.profile)) for o in serious),
    )
