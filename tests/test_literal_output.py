"""What is meant to be copied is printed as it is: the SQL of ``apply --dry-run``, file
paths and undo commands are never hard-wrapped, at 40 columns and through a pipe."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from orchestrator.reporting.output import console, print_literal
from tests.conftest import TreeWriter, toml_binding

ORCHESTRATE = str(Path(sys.executable).with_name("orchestrate"))
LONG = "INSERT INTO notes (body) VALUES ('a sentence well past forty columns, inside one literal');"


def _run(root: Path, *args: str) -> str:
    env = {**os.environ, "COLUMNS": "40", "NO_COLOR": "1"}
    proc = subprocess.run(
        [ORCHESTRATE, *args, "--root", str(root)],
        capture_output=True,  # stdout is a pipe
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_dry_run_sql_is_printed_whole_at_40_columns_through_a_pipe(tree: TreeWriter) -> None:
    root = tree(
        {
            "packages/a-very-long-package-name/wrangler.toml": toml_binding("notes-db", "1" * 8),
            "packages/a-very-long-package-name/migrations/0001_create_the_notes_table.sql": (
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT 'none');\n"
                + LONG
                + "\n"
            ),
        }
    )
    text = _run(root, "apply", "--all", "--dry-run")
    lines = text.splitlines()
    assert LONG in lines
    assert (
        "-- batch: packages/a-very-long-package-name/migrations/0001_create_the_notes_table.sql"
        " (atomic)" in lines
    )
    doc = json.loads(_run(root, "apply", "--all", "--dry-run", "--format", "json"))
    for batch in doc["databases"][0]["batches"]:
        for statement in batch["statements"]:
            sql = statement["sql"]
            assert (sql if sql.rstrip().endswith(";") else sql + ";") in text


def test_an_undo_command_stays_one_line_on_a_narrow_console() -> None:
    out = io.StringIO()
    narrow = console(width=40)
    narrow.file = out
    command = "wrangler d1 time-travel restore io-db --bookmark=00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683"
    print_literal(narrow, f"  {command}")
    assert out.getvalue() == f"  {command}\n"
