"""Clean shutdown and clear config messages (issue 14): SIGTERM like Ctrl-C (exit 143),
a closed pipe ends quietly, a deleted working directory, a config that is a
directory, a FIFO or /dev/zero, and a BOM in workspace.toml."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.apply.helpers import cli, query, spawn, state_path
from tests.conftest import TreeWriter, toml_binding, write_tree

SLOW = """CREATE TABLE IF NOT EXISTS t{n} (id INTEGER PRIMARY KEY, v TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t{n} (v) SELECT hex(randomblob(16)) FROM c;
"""


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    """Before: SIGTERM killed the run at once: no summary, locks left (600 s remotely)."""
    files: dict[str, str | bytes] = {"p/wrangler.toml": toml_binding("p-db", "i")}
    for n in range(1, 60):
        files[f"p/migrations/{n:04d}_t.sql"] = SLOW.format(n=n)
    root = write_tree(tmp_path / "r", files)
    process = spawn("apply", "--all", "--root", str(root))
    path = state_path(root, "p-db")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _applied(path) < 1:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, (out + err).decode()
    assert b"Traceback" not in err
    assert b"locks released" in out + err
    assert query(path, "SELECT COUNT(*) FROM _migrations_lock") == [(0,)]


def _applied(path: Path) -> int:
    """Rows in the local ledger so far (0 before it exists)."""
    if not path.exists():
        return 0
    ledger = "SELECT COUNT(*) FROM sqlite_master WHERE name = '_migrations'"
    if not query(path, ledger)[0][0]:
        return 0
    return int(query(path, "SELECT COUNT(*) FROM _migrations")[0][0])


def test_a_closed_pipe_ends_quietly(monorepo: Path) -> None:
    """Before: ``orchestrate plan | head -1`` printed a BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "plan", "--format", "json", "--root", str(monorepo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, COLUMNS="80"),
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader is gone before the first byte
    err = process.stderr.read() if process.stderr else b""
    process.wait(timeout=60)
    assert b"Traceback" not in err and b"internal error" not in err and b"BrokenPipe" not in err, (
        err
    )


def test_a_deleted_working_directory_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    process = subprocess.run(
        [sys.executable, "-c", "import os,sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); "
         "sys.argv=['orchestrate','plan']; from orchestrator.cli import main; main()", str(gone)],
        capture_output=True, text=True, timeout=60, check=False,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)),
    )  # fmt: skip
    assert process.returncode == 2, process.stderr
    assert "the current directory no longer exists" in process.stderr
    assert "Traceback" not in process.stderr


def test_a_bom_in_workspace_toml_is_read(tree: TreeWriter) -> None:
    """Before: "invalid TOML" at line 1 (wrangler reads a BOM in its own configs)."""
    root = tree({"p/wrangler.toml": toml_binding("p-db", "i")})
    (root / "workspace.toml").write_bytes(b"\xef\xbb\xbfconcurrency = 2\n")
    code, out, err = cli("plan", "--root", str(root))
    assert code == 0, out + err


def test_a_workspace_toml_that_is_a_directory_is_reported(tree: TreeWriter) -> None:
    """Before: silently ignored (zero-config), so its settings never applied."""
    root = tree({"p/wrangler.toml": toml_binding("p-db", "i")})
    (root / "workspace.toml").mkdir()
    code, out, err = cli("plan", "--root", str(root))
    assert code == 2
    assert "workspace.toml: is a directory; a config must be a regular file" in out + err


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "dangling"])
def test_a_workspace_toml_that_is_no_regular_file_is_reported(tree: TreeWriter, kind: str) -> None:
    """Before: a FIFO blocked forever, /dev/zero never ended, a dangling link vanished."""
    root = tree({"p/wrangler.toml": toml_binding("p-db", "i")})
    path = root / "workspace.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.symlink_to(root / "nowhere.toml")
    code, out, err = cli("plan", "--root", str(root))
    assert code == 2, out + err
    assert "workspace.toml" in out + err and "Traceback" not in out + err


SCRIPT = str(Path(sys.executable).with_name("orchestrate"))  # the console script


@pytest.mark.parametrize("after", ["typer", "rich.console"])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(tmp_path: Path, after: str) -> None:
    """Before: a SIGINT while the CLI was still importing (0.2 s after start) gave a
    KeyboardInterrupt traceback and exit -2. ``-X importtime`` tells when a module has
    been imported: the signal goes right after typer or rich (the CLI's own imports follow).
    Ctrl-C during discovery and apply: ``tests/apply/test_processes.py``."""
    files: dict[str, str | bytes] = {}
    for p in range(150):
        files[f"packages/p{p}/wrangler.toml"] = toml_binding(f"db{p}", f"id{p}")
        for m in range(20):
            files[f"packages/p{p}/migrations/{m:04d}_m.sql"] = f"CREATE TABLE t{m} (id INTEGER);\n"
    root = write_tree(tmp_path / "big", files)
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", SCRIPT, "plan", "--root", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if line.split(b"|")[-1].strip() == after.encode():
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()[-800:]
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


def test_columns_0_still_prints(monorepo: Path) -> None:
    """Before: ``COLUMNS=0`` printed nothing (rich wrapped every line to nothing)."""
    process = subprocess.run(
        [sys.executable, "-m", "orchestrator", "plan", "--root", str(monorepo)],
        capture_output=True, text=True, timeout=60, check=False,
        env=dict(os.environ, COLUMNS="0"),
    )  # fmt: skip
    assert "Traceback" not in process.stderr
    assert "Plan for local: 6 databases" in process.stdout + process.stderr
