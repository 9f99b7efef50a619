"""`orchestrate plan --format json` on 100 packages x 100 migrations, against a
bare loop that reads and sha256-hashes every file, measured in the same run.

Target (DESIGN.md): <= 1.0 s wall and <= 3x the bare loop; exits 1 when it does not hold.
Medians of 5 runs of each side, interleaved.
Both sides are timed as whole processes (interpreter start included), and the
bare loop is also timed in-process for reference.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import WORK, best_of, finish, report, run_command
from synth import generate

BARE_LOOP = """
import hashlib, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.sql")):
    hashlib.sha256(path.read_bytes()).hexdigest()
"""


def bare_loop(root: Path) -> None:
    for path in sorted(root.rglob("*.sql")):
        hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    root = WORK / "plan-100x100"
    if not (root / "packages" / "pkg099" / "migrations" / "0100_create_t099_0100.sql").exists():
        shutil.rmtree(root, ignore_errors=True)
        generate(root, 100, 100)
    orchestrate = [
        sys.executable,
        "-m",
        "orchestrator",
        "plan",
        "--root",
        str(root),
        "--format",
        "json",
    ]
    # Warm the page cache for both sides, and check the output is a real plan.
    doc = json.loads(run_command(orchestrate).stdout)
    assert sum(len(d["migrations"]) for d in doc["databases"]) == 10_000, "plan is incomplete"
    # Interleaved, so a burst of load on the shared machine hits both sides alike.
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(5):
        ours.append(best_of(1, lambda: run_command(orchestrate)))
        bare.append(best_of(1, lambda: run_command([sys.executable, "-c", BARE_LOOP, str(root)])))
    measured, bare_process = statistics.median(ours), statistics.median(bare)
    bare_inline = best_of(5, lambda: bare_loop(root))
    held = report(
        "plan 100x100 (process)",
        measured,
        "bare read+sha256 loop (process)",
        bare_process,
        "<= 1.0 s and <= 3x",
        measured <= 1.0 and measured <= 3 * bare_process,
    )
    report(
        "plan 100x100 (process)",
        measured,
        "bare read+sha256 loop (in-process)",
        bare_inline,
        "(for reference)",
    )
    return finish([held])


if __name__ == "__main__":
    raise SystemExit(main())
