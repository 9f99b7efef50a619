"""Helpers shared by the benchmarks: timing and a figure line."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"


def best_of(runs: int, action: Callable[[], object]) -> float:
    """Median wall time of ``runs`` calls, in seconds (median: these machines are noisy)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_command(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a command (no shell), failing loudly if it fails."""
    result = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, check=False)
    if result.returncode not in (0, 1):
        sys.stderr.write(result.stderr.decode(errors="replace"))
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}")
    return result


def report(
    what: str,
    measured: float,
    reference_name: str,
    reference: float,
    target: str,
    holds: bool | None = None,
) -> bool:
    """Print the figure beside its same-run reference, the ratio and the target; with
    ``holds`` given, HOLDS or MISSED after it. Returns ``holds`` (True when not given)."""
    ratio = measured / reference if reference else float("inf")
    verdict = "" if holds is None else (" | HOLDS" if holds else " | MISSED")
    print(
        f"{what}: {measured:.3f} s | {reference_name}: {reference:.3f} s | ratio {ratio:.2f}x "
        f"| target {target}{verdict}"
    )
    return True if holds is None else holds


def load() -> str:
    """The machine's load averages (benchmarks share it with other work): say them."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load: unknown"
    return f"load average: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def finish(held: Sequence[bool]) -> int:
    """The exit code: 0 when every target held, 1 otherwise (printed as well)."""
    print(load())
    print("target holds" if all(held) else "TARGET MISSED")
    return 0 if all(held) else 1
