"""Precision and recall of `check` errors over the labelled corpus in tests/corpus,
under the default profile and the strict one.

Targets (DESIGN.md, issue 12), under the default profile: precision >= 0.95 over
every case, and recall 1.0 on the cases that fail or lose data on D1. The reference
is the labels themselves (each case's `case.toml`). Exits 1 when a target is missed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.checks.corpus import PROFILES, Outcome, evaluate, load_cases, score  # noqa: E402

PRECISION_TARGET = 0.95
RECALL_TARGET = 1.0


def main() -> int:
    cases = load_cases()
    held = True
    with tempfile.TemporaryDirectory(prefix="lint-precision-") as work:
        for profile in PROFILES:
            started = time.perf_counter()
            outcomes = [evaluate(case, profile, Path(work)) for case in cases]
            elapsed = time.perf_counter() - started
            result = score(outcomes)
            _print_misses(outcomes)
            print(
                f"{profile:>7}: {len(cases)} cases in {elapsed:.1f} s · errors: "
                f"{result.true} true, {result.false} false · precision {result.precision:.3f} · "
                f"recall on data-loss/D1-failure cases {result.recall:.3f} "
                f"({result.caught}/{result.must_catch})"
            )
            if profile == "default":
                ok = result.precision >= PRECISION_TARGET and result.recall >= RECALL_TARGET
                held = held and ok
                print(
                    f"         target: precision >= {PRECISION_TARGET}, recall {RECALL_TARGET}: "
                    + ("holds" if ok else "MISSED")
                )
    return 0 if held else 1


def _print_misses(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        for problem in outcome.problems():
            print(f"  {outcome.profile} {outcome.case.name}: {problem}")


if __name__ == "__main__":
    sys.exit(main())
