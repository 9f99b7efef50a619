"""orchestrate's own URLs come from one place, ``[project.urls]`` in pyproject.toml
(``orchestrator/project.py``), so that publishing the repository is one edit there plus
the documentation snippets docs/releasing.md lists."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator import __version__, project
from orchestrator.cli.commands import app

REPO = Path(__file__).resolve().parents[2]
URL = re.compile(r"""https?://[^\s"'<>`)\]]+""")
PLACEHOLDER = "OWNER/d1-orchestrate"
# URLs in the package that are not orchestrate's own: other services and formats.
NOT_OURS = {
    "https://json.schemastore.org/sarif-2.1.0.json",  # the SARIF schema
    "https://api.cloudflare.com/client/v4",  # the D1 API
    "https://api.github.com",  # the PR comment
}
FAKE = {
    "homepage": "https://example.test/orchestrate-home",
    "repository": "https://github.com/example-owner/d1-orchestrate",
}


def pyproject_urls() -> dict[str, str]:
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]
    return {k.lower(): v.rstrip("/") for k, v in urls.items()}


def test_installed_metadata_and_source_checkout_agree_with_pyproject(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "homepage" in pyproject_urls()
    project.project_urls.cache_clear()
    assert project.project_urls() == pyproject_urls()

    def not_installed(name: str) -> None:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "metadata", not_installed)
    project.project_urls.cache_clear()
    try:
        assert project.project_urls() == pyproject_urls()  # read from the checkout
    finally:
        project.project_urls.cache_clear()


def test_another_projects_pyproject_is_not_read(tmp_path: Path) -> None:
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "other"\n[project.urls]\nHomepage = "https://x.test"\n')
    assert project._pyproject_urls(other) == {}
    assert project._pyproject_urls(tmp_path / "missing.toml") == {}


def test_no_module_writes_a_url_of_ours_itself() -> None:
    found = {}
    for path in sorted((REPO / "orchestrator").rglob("*")):
        if path.suffix not in (".py", ".j2") or path.name == "project.py":
            continue
        for url in URL.findall(path.read_text()):
            found.setdefault(url.rstrip(".,:;"), path.relative_to(REPO).as_posix())
    ours = {
        url: where
        for url, where in found.items()
        if url not in NOT_OURS and ("orchestrate" in url or "pypi.org" in url or "OWNER" in url)
    }
    assert ours == {}


def urls_written(monorepo: Path) -> set[str]:
    """Every URL in the outputs that can carry one of ours (SARIF, pages, markdown)."""
    runner = CliRunner()
    outputs = []
    for args in (
        ["lint", "--format", "sarif"],
        ["check", "--format", "markdown"],
        ["status", "--format", "html"],
        ["status", "--format", "markdown"],
    ):
        result = runner.invoke(app, [*args, "--root", str(monorepo)])
        assert result.exit_code in (0, 1), (args, result.output)
        outputs.append(result.stdout)
    return {u for text in outputs for u in URL.findall(text) if not u.startswith("file://")}


@pytest.mark.parametrize("published", [False, True])
def test_every_url_of_ours_comes_from_project_urls(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch, published: bool
) -> None:
    urls = FAKE if published else {"homepage": FAKE["homepage"]}
    monkeypatch.setattr(project, "project_urls", lambda: urls)
    written = urls_written(monorepo) - NOT_OURS
    assert written, "the outputs carry no URL: the test would prove nothing"
    assert {u for u in written if not u.startswith(tuple(urls.values()))} == set()
    if published:  # the rule documents, at this version's tag, in the repository
        tagged = f"{FAKE['repository']}/blob/v{__version__}/docs/lint-rules.md#d002"
        assert tagged in written
    else:
        assert FAKE["homepage"] in written


def test_placeholders_are_listed_for_publishing_and_gone_once_published() -> None:
    releasing = (REPO / "docs/releasing.md").read_text()
    texts = {
        p.relative_to(REPO).as_posix(): p.read_text()
        for p in [REPO / "README.md", REPO / "action.yml", *sorted((REPO / "docs").glob("*.md"))]
        if p.name != "releasing.md"
    }
    holding = sorted(name for name, text in texts.items() if PLACEHOLDER in text)
    assert all(f"`{name}`" in releasing for name in holding), holding
    if "repository" in pyproject_urls():
        assert holding == [], "replace the placeholder as docs/releasing.md says"
    else:
        assert holding == ["README.md", "docs/ci.md"]
