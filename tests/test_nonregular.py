"""Non-regular files (issue 14): a FIFO, a device or a dangling symlink as a wrangler
config, a ``.gitignore`` or a ``.sql`` gets a clear message and never blocks; a config
over the size cap is one line. Each case runs as a real process with a timeout, so the
code before the fix (which blocked on a FIFO, or read /dev/zero without end) fails it
instead of hanging the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.settings import MAX_CONFIG_BYTES
from tests.conftest import REPO, TreeWriter, toml_binding

WRANGLER_NAMES = ["wrangler.toml", "wrangler.json", "wrangler.jsonc"]


def run(root: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``orchestrate plan --format json`` (or ``args``) in a process that must end in time."""
    argv = [sys.executable, "-m", "orchestrator", *(args or ("plan", "--format", "json"))]
    return subprocess.run(
        [*argv, "--root", str(root)],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=root,
        env=dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200"),
    )  # fmt: skip


def problems(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert "Traceback" not in result.stderr, result.stderr
    return list(json.loads(result.stdout)["problems"])


def make(path: Path, kind: str) -> None:
    """Put a FIFO, a link to /dev/zero or /dev/null, or a dangling link at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("dev-zero", "dev-null"):
        path.symlink_to(f"/dev/{kind.removeprefix('dev-')}")
    else:
        path.symlink_to(path.parent / "nowhere")


CONFIG_WORDS = {
    "fifo": "is a FIFO; a config must be a regular file",
    "dev-zero": "is a character device; a config must be a regular file",
    "dev-null": "is a character device; a config must be a regular file",
    "dangling": "which does not exist",
}


@pytest.mark.parametrize("name", WRANGLER_NAMES)
@pytest.mark.parametrize("kind", sorted(CONFIG_WORDS))
def test_a_wrangler_config_that_is_no_regular_file_is_reported(
    tree: TreeWriter, name: str, kind: str
) -> None:
    """Before: a FIFO blocked discovery forever, /dev/zero was read without end, /dev/null
    and a dangling link gave "cannot read config" or an empty-file parse error."""
    root = tree({"good/wrangler.toml": toml_binding("good-db", "g")})
    make(root / "bad" / name, kind)
    result = run(root)
    assert result.returncode == 1, result.stderr
    [problem] = [p for p in problems(result) if p["file"] == f"bad/{name}"]
    assert problem["severity"] == "error" and problem["code"] == "config.invalid"
    assert CONFIG_WORDS[kind] in problem["message"]


def test_a_wrangler_config_over_the_size_cap_is_one_line(tree: TreeWriter) -> None:
    """Before: read whole, however big (a config pointing at a huge file never ends)."""
    root = tree({"good/wrangler.toml": toml_binding("good-db", "g")})
    with open(root / "good" / "wrangler.jsonc", "wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)  # sparse: no disk used
    (root / "good" / "wrangler.toml").unlink()
    result = run(root)
    assert result.returncode == 1, result.stderr
    [problem] = problems(result)
    assert problem["file"] == "good/wrangler.jsonc"
    assert problem["message"] == f"is over {MAX_CONFIG_BYTES} bytes, more than a config may have"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_gitignore_that_is_no_regular_file_never_blocks(tree: TreeWriter, kind: str) -> None:
    """Before: a FIFO named .gitignore blocked the walk forever."""
    root = tree({"p/wrangler.toml": toml_binding("p-db", "i")})
    make(root / "p" / ".gitignore", kind)
    result = run(root)
    assert result.returncode == 0, result.stderr
    # p has no migrations directory: a note (issue 11), nothing about the .gitignore
    assert [p["code"] for p in problems(result)] == ["source.missing"]


SQL_WORDS = {
    "fifo": "skipped: a FIFO, which wrangler never applies",
    "dev-zero": "skipped: a symlink, which wrangler never applies",
    "dev-null": "skipped: a symlink, which wrangler never applies",
    "dangling": "skipped: a symlink, which wrangler never applies",
}


@pytest.mark.parametrize("kind", sorted(SQL_WORDS))
def test_a_sql_file_that_is_no_regular_file_is_skipped_with_a_word(
    tree: TreeWriter, kind: str
) -> None:
    """wrangler skips all of these (``Dirent.isFile()``); so does orchestrate, saying so.
    Before: a FIFO named ``0002_x.sql`` vanished without a word."""
    root = tree({
        "p/wrangler.toml": toml_binding("p-db", "i"),
        "p/migrations/0001_a.sql": "CREATE TABLE a (id INTEGER);\n",
    })  # fmt: skip
    make(root / "p" / "migrations" / "0002_x.sql", kind)
    result = run(root)
    assert result.returncode == 0, result.stderr
    [problem] = problems(result)
    assert (problem["severity"], problem["file"]) == ("info", "p/migrations/0002_x.sql")
    assert problem["message"] == SQL_WORDS[kind]
    migrations = json.loads(result.stdout)["databases"][0]["migrations"]
    assert [m["name"] for m in migrations] == ["0001_a"]


def test_lint_of_a_directory_holding_a_fifo_never_blocks(tree: TreeWriter) -> None:
    """Before: ``orchestrate lint DIR`` opened a FIFO named *.sql and blocked forever."""
    root = tree({"loose/0001_a.sql": "CREATE TABLE a (id INTEGER);\n"})
    make(root / "loose" / "0002_x.sql", "fifo")
    result = run(root, "lint", "loose", "--format", "json")
    assert "Traceback" not in result.stderr
    files = {f["file"] for f in json.loads(result.stdout)["findings"]}
    assert "loose/0002_x.sql" not in files
