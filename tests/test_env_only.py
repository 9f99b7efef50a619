"""Env-only repositories (tests/shapes/envonly: only [env.*] sections bind D1).

Static checks need no target: `check` and `lint` without --env check every
environment's migrations, a directory two envs share once. Commands that act on a
target need one: without --env they exit 2 and name the environments.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.apply.helpers import cli, cli_json

SHAPE = Path(__file__).parent / "shapes" / "envonly"
SHARED = "apps/api/migrations/0002_plans.sql"  # staging and production both apply it
OWN = "apps/api/analytics/0001_events.sql"  # production's second database only


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SHAPE, tmp_path / "envonly"))


@pytest.mark.parametrize("command", ["check", "lint"])
def test_without_env_every_environments_migrations_are_checked_once(
    root: Path, command: str
) -> None:
    code, doc = cli_json(command, "--root", str(root))
    assert code == 1, doc
    errors = Counter(
        (f["rule"], f["file"], f["line"]) for f in doc["findings"] if f["severity"] == "error"
    )
    # BEGIN and COMMIT (D1 refuses them): once each, though two envs bind the directory
    assert errors[("D003", SHARED, 2)] == 1 and errors[("D003", SHARED, 4)] == 1, errors
    assert any(file == OWN for _, file, _ in errors), errors  # the other env's directory too


def test_with_env_only_that_environment_is_checked(root: Path) -> None:
    code, doc = cli_json("check", "--root", str(root), "--env", "staging")
    assert code == 1
    files = {f["file"] for f in doc["findings"]}
    assert SHARED in files and OWN not in files


def test_check_without_env_can_select_an_env_database(root: Path) -> None:
    code, doc = cli_json("check", "--root", str(root), "--db", "api-events")
    files = {f["file"] for f in doc["findings"] if f["file"] and f["file"].endswith(".sql")}
    assert code == 1 and files == {OWN}, doc


@pytest.mark.parametrize("args", [("apply", "--all"), ("status",), ("verify",)])
def test_commands_on_a_target_need_env_and_name_the_environments(
    root: Path, args: tuple[str, ...]
) -> None:
    code, out, err = cli(*args, "--root", str(root))
    assert code == 2, out + err
    assert "only environments bind D1 here (production, staging)" in err
    assert "--env" in err and "Traceback" not in out + err
    assert not list(root.rglob("*.sqlite"))  # nothing applied, no state created
