"""``.pre-commit-hooks.yaml``: the hook's entry, run as pre-commit runs it (the entry's
words, then the changed files its ``files`` pattern selects, from the repository root)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TreeWriter, toml_binding

yaml = pytest.importorskip("yaml")
REPO = Path(__file__).resolve().parents[2]


def hook() -> dict[str, object]:
    (found,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    return dict(found)


def run_hook(root: Path, changed: list[str]) -> subprocess.CompletedProcess[str]:
    spec = hook()
    selected = [f for f in changed if re.search(str(spec["files"]), f)]  # pre-commit: re.search
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    words = shlex.split(str(spec["entry"]))
    return subprocess.run(
        [*words, *selected], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_hook_selects_migrations_only() -> None:
    pattern = str(hook()["files"])
    assert re.search(pattern, "packages/io/migrations/0001_users.sql")
    assert re.search(pattern, "migrations/0002_x.sql")
    assert not re.search(pattern, "packages/io/src/index.ts")
    assert not re.search(pattern, "packages/io/migrations/README.md")
    assert hook()["language"] == "python" and hook()["pass_filenames"] is True


def test_the_hook_entry_passes_a_clean_migration_and_fails_a_d1_error(tree: TreeWriter) -> None:
    root = tree(
        {
            "packages/io/wrangler.toml": toml_binding("io-db", "1" * 8),
            "packages/io/migrations/0001_users.sql": (
                "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY);\n"
            ),
            "packages/io/migrations/0002_tx.sql": "BEGIN;\nSELECT 1;\nCOMMIT;\n",
            "packages/io/src/index.ts": "export default {};\n",
        }
    )
    clean = run_hook(root, ["packages/io/migrations/0001_users.sql", "packages/io/src/index.ts"])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = run_hook(root, ["packages/io/migrations/0002_tx.sql"])
    assert broken.returncode == 1
    assert "packages/io/migrations/0002_tx.sql" in broken.stdout
