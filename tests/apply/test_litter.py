"""No litter (issue 14): leftovers of a killed run are cleaned on the next run; state
files get miniflare's mode (0644); ``--to 0`` is refused."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from tests.apply.helpers import cli, state_path
from tests.conftest import TreeWriter, toml_binding

T = "CREATE TABLE IF NOT EXISTS t (a);\n"


def one_db(tree: TreeWriter) -> Path:
    return tree({"p/wrangler.toml": toml_binding("p-db", "i"), "p/migrations/0001_t.sql": T})


def test_a_new_state_file_has_miniflares_mode(tree: TreeWriter) -> None:
    """Before: 0600 (mkstemp's mode), unlike the files miniflare makes."""
    root = one_db(tree)
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    mode = stat.S_IMODE(state_path(root, "p-db").stat().st_mode)
    assert mode == 0o644 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_leftovers_of_a_killed_run_are_cleaned_on_the_next_run(tree: TreeWriter) -> None:
    """Before: ``.orchestrate-new-*`` files left by a ``kill -9`` stayed for ever."""
    root = one_db(tree)
    directory = state_path(root, "p-db").parent
    directory.mkdir(parents=True)
    old = directory / ".orchestrate-new-abc123.sqlite"
    old.write_bytes(b"")
    past = time.time() - 3600
    os.utime(old, (past, past))
    fresh = directory / ".orchestrate-new-def456.sqlite"  # another run's, being made now
    fresh.write_bytes(b"")
    assert cli("apply", "--all", "--root", str(root))[0] == 0
    assert not old.exists() and fresh.exists()


def test_to_zero_is_refused(tree: TreeWriter) -> None:
    root = one_db(tree)
    code, out, err = cli("apply", "--all", "--to", "0", "--root", str(root))
    assert code == 2 and "--to" in out + err
    assert not state_path(root, "p-db").exists()
