"""Shared fixtures: small monorepos written into tmp_path, one per failure mode."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

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
    candidate = os.environ.get("ORCHESTRATE_WRANGLER") or str(
        REPO / ".tools" / "node_modules" / ".bin" / "wrangler"
    )
    return candidate if Path(candidate).exists() else shutil.which("wrangler")


def toml_binding(name: str, db_id: str, binding: str = "DB", extra: str = "") -> str:
    """A wrangler.toml that binds one D1 database."""
    return (
        f'name = "{name}"\nmain = "src/index.ts"\ncompatibility_date = "2025-01-15"\n\n'
        f'[[d1_databases]]\nbinding = "{binding}"\ndatabase_name = "{name}"\n'
        f'database_id = "{db_id}"\n{extra}'
    )
