"""Every labelled case of tests/corpus produces its findings and exactly its errors,
under the default profile and the strict one (bench/lint_precision.py scores them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.checks.corpus import MUST_CATCH, PROFILES, evaluate, load_cases

CASES = load_cases()


def test_the_corpus_is_large_and_covers_the_serious_cases() -> None:
    assert len(CASES) >= 40
    assert {c.kind for c in CASES} >= {"data-loss", "d1-failure", "clean", "convention"}
    assert sum(c.kind in MUST_CATCH for c in CASES) >= 10


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_labelled_case(case, profile: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outcome = evaluate(case, profile, tmp_path)
    assert not list(outcome.problems()), (case.name, profile, list(outcome.problems()))


def test_a_real_first_run_failure_is_reported_with_sqlites_message(tmp_path: Path) -> None:
    from tests.checks.corpus import run_case

    case = next(c for c in CASES if c.name == "duplicate_column_dash_name")
    failure = next(f for f in run_case(case, "default", tmp_path) if f.rule == "L004")
    assert "duplicate column name: bio" in failure.message
    assert failure.file and failure.file.endswith("0002-Add-Bio.sql") and failure.line == 1
