"""Nothing injected: names from configs and files never run as shell, never read as
terminal markup, never reach the terminal as control characters; what D1 refuses,
local apply refuses; contradicting flags are a usage error (issue 14)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from orchestrator import __version__
from orchestrator.model import Binding, Database
from orchestrator.runner.job import restore_command
from tests.apply.helpers import cli, state_path
from tests.conftest import toml_binding, write_tree

EVIL = "x;touch pwned;#"


def evil_database(env: str | None = None) -> Database:
    binding = Binding(
        package="p", binding="DB", config="p/wrangler.toml", database_name=EVIL,
        database_id="i", preview_database_id="", migrations_dir="p/migrations",
        migrations_table="d1_migrations", env=env,
    )  # fmt: skip
    return Database(key=EVIL, name=EVIL, id="i", bindings=(binding,), migrations=())


def test_the_undo_command_quotes_the_database_name() -> None:
    """Before: ``wrangler d1 time-travel restore x;touch pwned;# --bookmark=b`` (runs touch)."""
    command = restore_command(evil_database(env="st age"), "b0")
    assert shlex.split(command) == [
        "wrangler", "d1", "time-travel", "restore", EVIL, "--bookmark=b0", "--env", "st age",
    ]  # fmt: skip


def test_npm_scripts_pass_a_hostile_name_as_one_argument(tmp_path: Path) -> None:
    """Before: ``npm run migrate:p`` ran ``touch pwned`` (npm runs scripts with sh)."""
    root = write_tree(
        tmp_path / "repo",
        {
            "package.json": '{"name": "mono", "private": true}\n',
            "p/wrangler.toml": toml_binding(EVIL, "00000000-0000-0000-0000-000000000001"),
            "p/migrations/0001_a.sql": "CREATE TABLE IF NOT EXISTS a (x);\n",
        },
    )
    code, out, err = cli("init", "--npm-scripts", "--root", str(root))
    assert code == 0, out + err
    scripts = json.loads((root / "package.json").read_text())["scripts"]
    script = next(v for k, v in scripts.items() if k.startswith("migrate:") and "--db" in v)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pipx"  # records its argv instead of running orchestrate
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        ["sh", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert not (tmp_path / "pwned").exists()
    assert done.stdout.splitlines()[-3:] == ["apply", "--db", EVIL], done
    assert done.stdout.splitlines()[:3] == ["run", "--spec", f"d1-orchestrate=={__version__}"]


def test_local_and_remote_together_are_a_usage_error(tmp_path: Path) -> None:
    """Before: the last flag won, and a command meant for local state wrote to production."""
    root = write_tree(tmp_path / "r", {"p/wrangler.toml": toml_binding("p-db", "i")})
    for args in (["apply", "--all", "--local", "--remote"], ["plan", "--remote", "--local"]):
        code, out, err = cli(*args, "--root", str(root))
        assert code == 2, out + err
        assert "--local and --remote contradict each other" in out + err


@pytest.mark.parametrize(
    "statement",
    ["ATTACH DATABASE '{evil}' AS evil", "attach '{evil}' as evil", "DETACH DATABASE main",
     "VACUUM"],
)  # fmt: skip
def test_local_apply_refuses_what_d1_refuses(tmp_path: Path, statement: str) -> None:
    """Before: local apply ran ATTACH and wrote an SQLite file anywhere on the machine."""
    evil = tmp_path / "elsewhere.sqlite"
    sql = statement.format(evil=evil) + ";\nCREATE TABLE IF NOT EXISTS t (a);\n"
    root = write_tree(
        tmp_path / "r",
        {"p/wrangler.toml": toml_binding("p-db", "i"), "p/migrations/0001_a.sql": sql},
    )
    code, out, err = cli("apply", "--all", "--root", str(root))
    assert code == 1, out + err
    word = statement.split()[0].upper()
    assert f"p/migrations/0001_a.sql:1: {word} is not allowed in a migration" in out + err
    assert not evil.exists()
    tables = state_path(root, "p-db")
    assert tables.exists()


def terminal_tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "r",
        {
            "p/wrangler.toml": toml_binding("p-db", "i"),
            "p/migrations/0001_[bold]a.sql": "CREATE TABLE IF NOT EXISTS [/docs] (a);\n",
            "p/migrations/0002_b.sql": "CREATE TABLE u\x1b[31m (a);\nINSERT INTO nope VALUES ('[/docs]');\n",
        },
    )


@pytest.mark.parametrize("command", ["plan", "lint", "check", "status"])
def test_user_text_is_never_markup_and_controls_are_escaped(tmp_path: Path, command: str) -> None:
    """Before: ``[bold]`` vanished from file names, and an ESC reached the terminal raw."""
    root = terminal_tree(tmp_path)
    code, out, err = cli(command, "--root", str(root))
    text = out + err
    assert code in (0, 1), text
    assert "\x1b" not in text and "Traceback" not in text
    if command in ("plan", "status"):
        assert "0001_[bold]a.sql" in text
    if command in ("lint", "check"):
        assert "u\\x1b[31m" in text or "\\x1b" in text
