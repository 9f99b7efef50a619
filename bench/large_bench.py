"""Large inputs stay linear (issue 14), each against a bare reference in the same run.

1. One 6 MB migration of 50,000 statements:
   - ``apply --all --local`` (in process, through the services layer) against a bare
     ``sqlite3`` ``executescript`` of the same file in one transaction;
   - ``check`` (static rules and shadow replay) against a bare parse: the same
     ``executescript`` into an in-memory database (SQLite parses every statement);
   - for information, no target: ``check`` of the same rows as ``INSERT OR IGNORE``,
     which the shadow runs twice.
2. One wrangler.toml with 20,000 ``[[d1_databases]]`` bindings: ``plan`` against a
   bare ``tomllib`` parse of the same file.

Target: each ≤ 3× its reference. Exits non-zero when a target does not hold.

Usage: python bench/large_bench.py [--statements N] [--bindings N]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import WORK, finish, report

from orchestrator.checks.service import check_workspace
from orchestrator.services import ApplyRequest, apply_databases, make_plan
from orchestrator.settings import Settings

TARGET = 3.0
ROW = "INSERT INTO t (v) VALUES ('row {i}: some padding so that a statement is about 120 bytes long, as in real seeds');\n"


def big_migration(statements: int) -> str:
    head = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT);\n"
    return head + "".join(ROW.format(i=i) for i in range(statements - 1))


def write_tree(root: Path, sql: str) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "p/migrations").mkdir(parents=True)
    (root / "p/wrangler.toml").write_text(
        'name = "p"\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "big-db"\n'
        'database_id = "00000000-0000-0000-0000-00000000b16b"\n'
    )
    (root / "p/migrations/0001_big.sql").write_text(sql)
    return root


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bare_executescript(sql: str, path: str) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.executescript("BEGIN;\n" + sql + "\nCOMMIT;")
    connection.close()


def bench_migration(statements: int) -> list[bool]:
    sql = big_migration(statements)
    root = write_tree(WORK / "large", sql)
    print(f"one migration: {len(sql) / 1e6:.1f} MB, {statements} statements")
    reference_file = WORK / "large-reference.sqlite"
    reference_file.unlink(missing_ok=True)
    reference = timed(lambda: bare_executescript(sql, str(reference_file)))
    settings = Settings(root=root)
    applied = timed(lambda: _apply(settings))
    apply_held = report(
        "apply --all --local",
        applied,
        "bare executescript",
        reference,
        f"<= {TARGET}x",
        applied <= TARGET * reference,
    )
    parse = timed(lambda: bare_executescript(sql, ":memory:"))
    checked = timed(lambda: check_workspace(settings))
    check_held = report(
        "check",
        checked,
        "bare parse (executescript in memory)",
        parse,
        f"<= {TARGET}x",
        checked <= TARGET * parse,
    )
    # Not a target: a seed of INSERT OR IGNORE rows is run a second time by the shadow (it
    # may add its rows again, which only that run shows), so it costs one more executescript.
    ignoring = sql.replace("INSERT INTO t ", "INSERT OR IGNORE INTO t ")
    root = write_tree(WORK / "large-ignore", ignoring)
    ignored = timed(lambda: check_workspace(Settings(root=root)))
    report("check, the same seed as INSERT OR IGNORE", ignored, "bare parse", parse, "none")
    return [apply_held, check_held]


def _apply(settings: Settings) -> None:
    run = apply_databases(ApplyRequest(settings=settings))
    assert run, run.results


def bench_bindings(bindings: int) -> list[bool]:
    root = WORK / "bindings"
    shutil.rmtree(root, ignore_errors=True)
    (root / "p").mkdir(parents=True)
    entries = "".join(
        f'[[d1_databases]]\nbinding = "DB{i}"\ndatabase_name = "db-{i}"\n'
        f'database_id = "00000000-0000-0000-0000-{i:012d}"\n\n'
        for i in range(bindings)
    )
    text = 'name = "p"\n\n' + entries
    (root / "p/wrangler.toml").write_text(text)
    print(f"one wrangler.toml: {bindings} bindings, {len(text) / 1e6:.1f} MB")
    reference = timed(lambda: tomllib.loads(text))
    planned = timed(lambda: make_plan(Settings(root=root)))
    return [
        report(
            "plan",
            planned,
            "bare tomllib parse",
            reference,
            f"<= {TARGET}x",
            planned <= TARGET * reference,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=50_000)
    parser.add_argument("--bindings", type=int, default=20_000)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    held = bench_migration(args.statements) + bench_bindings(args.bindings)
    return finish(held)


if __name__ == "__main__":
    raise SystemExit(main())
