"""Shapes found in public Workers repositories, each a small monorepo under tests/shapes/.

For each one, real wrangler (the pinned one, offline, local state only) and orchestrate
agree: the same local state file, the same schema, the same ``d1_migrations`` rows, and
nothing runs twice whichever tool applied first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.apply.helpers import cli_json, query, schema
from tests.conftest import OLDEST_WRANGLER, needs_wrangler, pinned_wrangler, run_wrangler

pytestmark = needs_wrangler
SHAPES = Path(__file__).parent.parent / "shapes"

# shape -> (package dir, [database argument wrangler is given])
CASES = {
    "preview": ("apps/web", ["web-db"]),
    "dupes": ("apps/api", ["api-db"]),
    "shared": ("apps/auth", ["main-db", "auth-db"]),
    "bindonly": ("apps/site", ["DB"]),
    "drizzle": ("apps/app", ["app-db"]),  # migrations_pattern: wrangler >= 4.98
}


def _copy(shape: str, target: Path) -> Path:
    shutil.copytree(SHAPES / shape, target)
    return target


def _wrangler_ledger(path: Path) -> list[str]:
    return [r[0] for r in query(path, "SELECT name FROM d1_migrations ORDER BY id")]


def _files(package: Path) -> dict[str, Path]:
    base = package / ".wrangler" / "state" / "v3" / "d1" / "miniflare-D1DatabaseObject"
    return {p.name: p for p in base.glob("*.sqlite") if p.name != "metadata.sqlite"}


# A focused set on the oldest supported wrangler (4.86.0): the two local file names
# (preview_database_id, binding only). It predates migrations_pattern (drizzle) and
# still applied dotfiles (dupes' .draft.sql); "shared" agrees too, but costs 4 more
# wrangler runs.
OLDEST_CASES = ("bindonly", "preview")


@pytest.mark.parametrize("shape", sorted(CASES))
def test_wrangler_and_orchestrate_agree(shape: str, tmp_path: Path) -> None:
    _agree(shape, tmp_path, None)


@pytest.mark.parametrize("shape", OLDEST_CASES)
def test_the_oldest_wrangler_and_orchestrate_agree(shape: str, tmp_path: Path) -> None:
    oldest = pinned_wrangler(OLDEST_WRANGLER)
    if oldest is None:
        pytest.skip(f"wrangler {OLDEST_WRANGLER} not installed (make setup)")
    _agree(shape, tmp_path, oldest)


def _agree(shape: str, tmp_path: Path, binary: str | None) -> None:
    """The same file, schema and ledger from both tools; nothing runs twice either way."""
    package, databases = CASES[shape]
    by_wrangler = _copy(shape, tmp_path / "w")
    by_us = _copy(shape, tmp_path / "o")
    for db in databases:
        done = run_wrangler(
            by_wrangler / package, "d1", "migrations", "apply", db, "--local", binary=binary
        )
        assert done.returncode == 0, done.stdout + done.stderr
    code, doc = cli_json("apply", "--all", "--root", str(by_us))
    assert code == 0, doc
    # the same file names, the same schema and wrangler ledger in each
    theirs, ours = _files(by_wrangler / package), _files(by_us / package)
    assert sorted(theirs) == sorted(ours) and len(ours) == len(databases)
    for name, path in ours.items():
        assert schema(path) == schema(theirs[name]), name
        assert _wrangler_ledger(path) == _wrangler_ledger(theirs[name]), name
    # nothing runs twice: wrangler after us, and us after wrangler
    for db in databases:
        again = run_wrangler(
            by_us / package, "d1", "migrations", "apply", db, "--local", binary=binary
        )
        assert again.returncode == 0 and "No migrations to apply" in again.stdout, again.stdout
    code, doc = cli_json("apply", "--all", "--root", str(by_wrangler))
    assert code == 0 and {d["status"] for d in doc["databases"]} == {"up-to-date"}, doc
