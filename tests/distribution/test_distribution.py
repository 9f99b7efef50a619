"""The distribution builds, passes `twine check`, and carries no test files.

`python -m build --no-isolation` uses the setuptools of the test venv (installed by the dev
extra), so the test needs no network. The wheel and sdist are real artifacts, inspected as such.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _build(out: Path) -> tuple[Path, Path]:
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("build")
    return _build(tmp_path_factory.mktemp("dist"))


def test_distribution_name_is_not_the_taken_pypi_name() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "d1-orchestrate"
    assert meta["scripts"] == {"orchestrate": "orchestrator.launch:main"}
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


def test_twine_check_passes(artifacts: tuple[Path, Path]) -> None:
    pytest.importorskip("twine")
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, artifacts)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sdist_has_no_tests_fixtures_or_bench(artifacts: tuple[Path, Path]) -> None:
    _, sdist = artifacts
    with tarfile.open(sdist) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    assert "LICENSE" in names and "README.md" in names
    stray = [n for n in names if n.split("/")[0] in {"tests", "fixtures", "bench", "docs"}]
    assert stray == []


def test_wheel_carries_the_package_and_the_license(artifacts: tuple[Path, Path]) -> None:
    wheel, _ = artifacts
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("orchestrator/cli") for n in names)
    assert not any(n.startswith("tests/") for n in names)
    assert any(n.endswith("licenses/LICENSE") for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Name: d1-orchestrate" in text
    assert "Classifier: Topic :: Database" in text


def test_wheel_and_sdist_carry_the_page_templates(artifacts: tuple[Path, Path]) -> None:
    wheel, sdist = artifacts
    with tarfile.open(sdist) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    for name in ("base", "macros", "status", "fleet"):
        template = f"orchestrator/reporting/templates/{name}.html.j2"
        assert template in zipfile.ZipFile(wheel).namelist()
        assert template in names
