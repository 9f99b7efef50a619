"""`orchestrate status --format json` on 100 databases x 100 migrations, all applied,
against a bare loop that reads every migration file (sha256) and every ledger with
sqlite3, measured in the same run. Target (issue 6): <= 2 s on the 2-core machine; exits 1
when it does not hold."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import WORK, best_of, finish, report, run_command
from synth import generate


def bare_reference(root: Path) -> None:
    for path in sorted(root.rglob("migrations/*.sql")):
        hashlib.sha256(path.read_bytes()).hexdigest()
    for path in sorted(root.rglob(".wrangler/state/v3/d1/*/*.sqlite")):
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        connection.execute("SELECT * FROM _migrations").fetchall()
        connection.close()


def main() -> int:
    root = WORK / "status-100x100"
    shutil.rmtree(root, ignore_errors=True)
    generate(root, 100, 100)
    run_command(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "apply",
            "--all",
            "--root",
            str(root),
            "--format",
            "json",
        ]
    )
    status = [
        sys.executable,
        "-m",
        "orchestrator",
        "status",
        "--root",
        str(root),
        "--format",
        "json",
    ]
    doc = json.loads(run_command(status).stdout)
    assert len(doc["databases"]) == 100 and doc["pending"] == 0, doc["headline"]
    measured = best_of(5, lambda: run_command(status))
    reference = best_of(5, lambda: bare_reference(root))
    held = report(
        "status 100x100 (process)",
        measured,
        "bare read+sha256 + sqlite3 ledger loop (in-process)",
        reference,
        "<= 2.0 s",
        measured <= 2.0,
    )
    return finish([held])


if __name__ == "__main__":
    raise SystemExit(main())
