"""`orchestrate apply --all --local` against its references, in the same run.

1. fixtures/monorepo and a 5 x 14 synthetic tree: against real
   `wrangler d1 migrations apply --local`, database by database, on a copy of the
   same tree. Target (DESIGN.md) on 5 x 14: >= 50x faster, with the same resulting
   schemas (compared); the fixtures' speed-up is printed for reference.
2. 100 databases x 100 migrations: against a bare Python sqlite3 loop applying the
   same files (one transaction per migration plus a ledger insert, WAL, SQLite's default
   synchronous setting, as ours). Target (DESIGN.md): <= 1.0x. Medians of ``--rounds``
   runs of each side, interleaved on fresh trees (this one is disk-bound: fsync).

Exits 1 when a target does not hold.

Usage: python bench/apply_bench.py [--skip-wrangler] [--skip-large] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import REPO, WORK, finish, report, run_command
from synth import generate

from orchestrator.discovery import discover_workspace
from orchestrator.engines.localstate import state_file
from orchestrator.settings import Settings

WRANGLER = os.environ.get("ORCHESTRATE_WRANGLER", str(REPO / ".tools/bin/wrangler"))
USER_SCHEMA = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
    "AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE '\\_migrations%' ESCAPE '\\' "
    "AND name <> 'd1_migrations' ORDER BY type, name"
)


def orchestrate_apply(root: Path) -> float:
    start = time.perf_counter()
    result = run_command(
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
    elapsed = time.perf_counter() - start
    doc = json.loads(result.stdout)
    bad = [d for d in doc["databases"] if d["status"] not in ("ok", "up-to-date")]
    assert not bad, f"{len(bad)} databases failed; first: {bad[0]['name']}: {bad[0]['error']}"
    return elapsed


def wrangler_targets(root: Path) -> list[tuple[Path, str, str]]:
    """(package dir, database name, state file) for every binding whose directory has migrations."""
    workspace = discover_workspace(Settings(root=root))
    targets = []
    for db in workspace.databases:
        for binding in db.bindings:
            if any(m.source == binding.migrations_dir for m in db.migrations):
                targets.append(
                    (root / binding.package_dir, db.name, str(state_file(root, binding)))
                )
    return targets


def wrangler_apply(root: Path) -> float:
    env = dict(os.environ, WRANGLER_SEND_METRICS="false", CI="true")
    start = time.perf_counter()
    for package, database, _ in wrangler_targets(root):
        result = run_command(
            [WRANGLER, "d1", "migrations", "apply", database, "--local"], cwd=package, env=env
        )
        assert result.returncode == 0, result.stdout.decode()[-500:]
    return time.perf_counter() - start


def shared_databases(root: Path) -> set[str]:
    workspace = discover_workspace(Settings(root=root))
    return {db.name for db in workspace.databases if len({m.source for m in db.migrations}) > 1}


def schemas(root: Path) -> dict[str, list[tuple[object, ...]]]:
    found = {}
    for _, database, path in wrangler_targets(root):
        connection = sqlite3.connect(path)
        found[f"{database}@{Path(path).relative_to(root)}"] = connection.execute(
            USER_SCHEMA
        ).fetchall()
        connection.close()
    return found


def compare_with_wrangler(name: str, tree: Path, target: float | None) -> bool:
    ours, theirs = WORK / f"{name}-orchestrate", WORK / f"{name}-wrangler"
    for copy in (ours, theirs):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(".wrangler"))
    measured = orchestrate_apply(ours)
    reference = wrangler_apply(theirs)
    reference_schemas, our_schemas = schemas(theirs), schemas(ours)
    shared = shared_databases(ours)
    exact = {k: v for k, v in reference_schemas.items() if k.split("@")[0] not in shared}
    same = all(our_schemas[k] == v for k, v in exact.items())
    # Where two packages feed one database, wrangler gives each package's state only its
    # own directory's tables; orchestrate gives every binding package the full schema.
    contained = all(set(v) <= set(our_schemas[k]) for k, v in reference_schemas.items())
    print(
        f"{name}: schemas identical to wrangler's in {len(exact)} local states: {same}; "
        f"wrangler's objects all present in ours in {len(reference_schemas)}: {contained}"
    )
    assert same and contained, "schemas differ from wrangler's"
    speed_up = reference / measured
    held = report(
        f"apply --all --local ({name})",
        measured,
        "wrangler d1 migrations apply --local, DB by DB",
        reference,
        f">= {target:g}x faster" if target is not None else "(for reference)",
        speed_up >= target if target is not None else None,
    )
    print(f"  speed-up: {speed_up:.1f}x")
    return held


def bare_loop(root: Path) -> float:
    files = sorted(root.glob("packages/*/migrations/*.sql"))
    start = time.perf_counter()
    current: str | None = None
    connection: sqlite3.Connection | None = None
    for path in files:
        package = path.parent.parent.name
        if package != current:
            if connection is not None:
                connection.close()
            db_path = root / "packages" / package / "bare.sqlite"
            connection = sqlite3.connect(db_path, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (filename TEXT UNIQUE, checksum TEXT)"
            )
            current = package
        assert connection is not None
        sql = path.read_text()
        connection.executescript("BEGIN;\n" + sql + "\n;")
        connection.execute("INSERT INTO _migrations VALUES (?, ?)", (path.name, "x"))
        connection.execute("COMMIT")
    if connection is not None:
        connection.close()
    return time.perf_counter() - start


def large(rounds: int) -> bool:
    ours_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(rounds):
        ours, bare = WORK / "apply-100x100-orchestrate", WORK / "apply-100x100-bare"
        for root in (ours, bare):
            shutil.rmtree(root, ignore_errors=True)
            generate(root, 100, 100)
        ours_times.append(orchestrate_apply(ours))
        bare_times.append(bare_loop(bare))
    measured, reference = statistics.median(ours_times), statistics.median(bare_times)
    print(f"  runs: ours {_seconds(ours_times)}; bare {_seconds(bare_times)}")
    return report(
        f"apply --all --local (100x100, process, median of {rounds})",
        measured,
        "bare sqlite3 loop, 1 tx per migration",
        reference,
        "<= 1.0x",
        measured <= reference,
    )


def _seconds(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-wrangler", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    held = []
    if not args.skip_wrangler:
        synthetic = WORK / "synth-5x14"
        shutil.rmtree(synthetic, ignore_errors=True)
        generate(synthetic, 5, 14)
        held.append(compare_with_wrangler("5x14", synthetic, 50.0))
        held.append(compare_with_wrangler("fixtures", REPO / "fixtures" / "monorepo", None))
    if not args.skip_large:
        held.append(large(args.rounds))
    return finish(held)


if __name__ == "__main__":
    raise SystemExit(main())
