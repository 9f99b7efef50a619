"""Shared fixtures: small monorepos written into tmp_path, one per failure mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURE_MONOREPO = REPO / "fixtures" / "monorepo"

TreeWriter = Callable[[dict[str, str | bytes]], Path]


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: content}`` under ``root``; text is dedented."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> TreeWriter:
    """``tree({...})`` writes a small monorepo into a fresh directory and returns its root."""
    root = tmp_path / "repo"
    root.mkdir()
    return lambda files: write_tree(root, files)


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A private copy of fixtures/monorepo (tests may apply to it)."""
    target = tmp_path / "monorepo"
    shutil.copytree(FIXTURE_MONOREPO, target, ignore=shutil.ignore_patterns(".wrangler"))
    return target


def wrangler_path() -> str | None:
    """The pinned wrangler that `make setup` installs, if present."""
    candidate = os.environ.get("ORCHESTRATE_WRANGLER") or str(REPO / ".tools" / "bin" / "wrangler")
    return candidate if Path(candidate).exists() else shutil.which("wrangler")


def toml_binding(name: str, db_id: str, binding: str = "DB", extra: str = "") -> str:
    """A wrangler.toml that binds one D1 database."""
    return (
        f'name = "{name}"\nmain = "src/index.ts"\ncompatibility_date = "2025-01-15"\n\n'
        f'[[d1_databases]]\nbinding = "{binding}"\ndatabase_name = "{name}"\n'
        f'database_id = "{db_id}"\n{extra}'
    )


WRANGLER = wrangler_path()
needs_wrangler = [
    pytest.mark.wrangler,
    pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)"),
]
# The range orchestrate supports, both installed by `make setup`: the newest on Node 22
# (.tools/bin/wrangler, also the default WRANGLER above), the oldest on the machine's Node 20.
NEWEST_WRANGLER = "4.164.0"
OLDEST_WRANGLER = "4.86.0"


def pinned_wrangler(version: str) -> str | None:
    """The wrapper `make setup` writes for ``version`` (newest or oldest), if installed."""
    if version == NEWEST_WRANGLER:
        path = REPO / ".tools" / "bin" / "wrangler"
    else:
        path = Path(
            os.environ.get("ORCHESTRATE_TEST_WRANGLER_OLDEST")
            or REPO / ".tools" / "bin" / f"wrangler-{version}"
        )
    return str(path) if path.is_file() else None


@pytest.fixture(params=[NEWEST_WRANGLER, OLDEST_WRANGLER])
def interop_wrangler(request: pytest.FixtureRequest) -> str:
    """Each end of the supported range in turn: the path of that wrangler (skip if missing)."""
    path = pinned_wrangler(str(request.param))
    if path is None:
        pytest.skip(f"wrangler {request.param} not installed (make setup)")
    return path


def run_wrangler(
    cwd: Path, *args: str, binary: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``binary`` (default: the pinned wrangler) offline in ``cwd`` (no shell; metrics off)."""
    chosen = binary or WRANGLER
    assert chosen is not None
    env = dict(os.environ, WRANGLER_SEND_METRICS="false", CI="true")
    return subprocess.run(
        [chosen, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def wrangler_rows(cwd: Path, db: str, sql: str, binary: str | None = None) -> list[dict[str, Any]]:
    """``wrangler d1 execute --local --json --command`` and the rows of its last statement."""
    result = run_wrangler(
        cwd, "d1", "execute", db, "--local", "--json", "--command", sql, binary=binary
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)[-1]["results"]
    return rows
