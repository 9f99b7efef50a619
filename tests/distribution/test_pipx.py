"""``pipx install .`` gives a working ``orchestrate``, and the scripts ``init --npm-scripts``
writes work for a teammate who has only pipx: no orchestrate installed, no venv.

pipx itself is pip-installed into a throw-away venv (nothing global changes); PIPX_HOME and
PIPX_BIN_DIR point into the test's directory. ``pipx run --spec d1-orchestrate==VERSION``
finds the wheel built from this checkout through PIP_FIND_LINKS (dependencies come from PyPI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import TreeWriter, toml_binding

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A venv with pipx in it, and an environment whose PATH has it but not our .venv."""
    base = tmp_path_factory.mktemp("pipx")
    venv.create(base / "venv", with_pip=True)
    pip = subprocess.run(
        [str(base / "venv/bin/python"), "-m", "pip", "install", "--quiet", "pipx"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if pip.returncode != 0:
        pytest.skip(f"pipx could not be installed from PyPI: {pip.stderr.strip()[-200:]}")
    path = [p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p]
    return {
        **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        "PATH": os.pathsep.join([str(base / "venv/bin"), str(base / "bin"), *path]),
        "PIPX_HOME": str(base / "home"),
        "PIPX_BIN_DIR": str(base / "bin"),
        "PIPX_MAN_DIR": str(base / "man"),
        "NO_COLOR": "1",
    }


def test_pipx_install_gives_the_command(tools: dict[str, str]) -> None:
    done = subprocess.run(
        ["pipx", "install", "--force", str(REPO)],
        env=tools,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    version = subprocess.run(
        [str(Path(tools["PIPX_BIN_DIR"]) / "orchestrate"), "--version"],
        env=tools,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.returncode == 0 and version.stdout.startswith("orchestrate "), version


def test_npm_scripts_run_for_a_teammate_with_only_pipx(
    tools: dict[str, str], tree: TreeWriter, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    root = tree(
        {
            "package.json": '{"name": "mono", "private": true}\n',
            "packages/io/wrangler.toml": toml_binding(
                "io-db", "00000000-0000-0000-0000-000000000001"
            ),
            "packages/io/migrations/0001_users.sql": "CREATE TABLE IF NOT EXISTS users (id INTEGER);\n",
        }
    )
    init = subprocess.run(
        [
            str(Path(sys.executable).with_name("orchestrate")),
            "init",
            "--npm-scripts",
            "--root",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    script = json.loads((root / "package.json").read_text())["scripts"]["migrate:all"]
    bare_path = [p for p in tools["PATH"].split(os.pathsep) if p != tools["PIPX_BIN_DIR"]]
    env = {**tools, "PIP_FIND_LINKS": str(wheels), "PATH": os.pathsep.join(bare_path)}
    assert subprocess.run(["sh", "-c", "command -v orchestrate"], env=env).returncode != 0
    done = subprocess.run(  # what `npm run migrate:all` runs: sh -c SCRIPT at the root
        ["sh", "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    state = root / "packages/io/.wrangler/state/v3/d1/miniflare-D1DatabaseObject"
    assert list(state.glob("*.sqlite")), done.stdout + done.stderr
