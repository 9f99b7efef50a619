"""A fleet's ``ids_file`` is read as configs are: a FIFO never blocks, a device is never
read, a file over the cap or not in UTF-8 is one line naming it (and the line), exit 2.

Each case runs ``orchestrate plan --fleet`` as a real process with a timeout, so the old
code (a plain ``read_text``, which blocked on a FIFO and read /dev/zero without end)
fails here instead of hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.settings import MAX_CONFIG_BYTES
from tests.conftest import REPO
from tests.fleets.helpers import fleet_tree


def plan(root: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "orchestrator", "plan", "--fleet", "tenants", "--root", str(root)]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=30, check=False, cwd=root,
        env=dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200"),
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def ids(tmp_path: Path) -> Path:
    root = fleet_tree(tmp_path / "ws", members=["tenant-a"])
    path = root / "tenants.txt"
    path.unlink()
    return path


def test_a_fifo_never_blocks(ids: Path) -> None:
    os.mkfifo(ids)
    line = one_error_line(plan(ids.parent))
    assert line == (
        "error: tenants.txt: fleets.tenants.ids_file: is a FIFO; an ids file must be a regular file"
    )


def test_a_device_is_never_read(ids: Path) -> None:
    ids.symlink_to("/dev/zero")
    line = one_error_line(plan(ids.parent))
    assert "tenants.txt: fleets.tenants.ids_file: is a character device" in line


def test_a_file_over_the_cap_is_one_line(ids: Path) -> None:
    with ids.open("wb") as out:  # sparse: no 16 MB written to disk
        out.truncate(MAX_CONFIG_BYTES + 1)
    line = one_error_line(plan(ids.parent))
    assert f"tenants.txt: fleets.tenants.ids_file: is over {MAX_CONFIG_BYTES} bytes" in line
    assert "more than an ids file may have" in line


def test_bytes_that_are_not_utf8_name_their_line(ids: Path) -> None:
    ids.write_bytes(b"tenant-a\n# comment\ntenant-\xff\n")
    line = one_error_line(plan(ids.parent))
    assert line.startswith("error: tenants.txt:3: fleets.tenants.ids_file: not UTF-8 (byte 0xff)")


def test_a_missing_file_is_one_line(ids: Path) -> None:
    line = one_error_line(plan(ids.parent))
    assert "tenants.txt: fleets.tenants.ids_file: cannot read" in line


def test_a_bad_entry_names_its_line(ids: Path) -> None:
    ids.write_text("tenant-a\n\ntenant b\n", encoding="utf-8")
    line = one_error_line(plan(ids.parent))
    assert line.startswith("error: tenants.txt:3: one database id or name a line, got 'tenant b'")
