"""Where orchestrate itself lives on the web. Every URL of orchestrate's own that the
package prints or writes (SARIF ``informationUri``/``helpUri``, the dashboard's rule
links) comes from here, and here reads them from one place: ``[project.urls]`` of
``pyproject.toml``, through the installed metadata, or from ``pyproject.toml`` itself
in a source checkout that is not installed. docs/releasing.md says what to change when
the public repository exists (add ``Repository``: one edit).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

from orchestrator import __version__

DISTRIBUTION = "d1-orchestrate"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@cache
def project_urls() -> dict[str, str]:
    """``[project.urls]`` with lower-case labels and no trailing ``/``."""
    try:
        entries = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return _pyproject_urls(PYPROJECT)
    pairs = (entry.split(",", 1) for entry in entries if "," in entry)
    return {label.strip().lower(): url.strip().rstrip("/") for label, url in pairs}


def _pyproject_urls(path: Path) -> dict[str, str]:
    """The source checkout's own ``[project.urls]`` (nothing when it is not ours)."""
    try:
        project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError):
        return {}
    if project.get("name") != DISTRIBUTION:
        return {}
    urls = project.get("urls", {})
    return {str(k).lower(): str(v).rstrip("/") for k, v in urls.items()}


def homepage() -> str | None:
    """The project's home (today its PyPI page; the repository once it is public)."""
    urls = project_urls()
    return urls.get("homepage") or urls.get("repository")


def repository() -> str | None:
    """The public source repository, once ``[project.urls]`` names it."""
    return project_urls().get("repository")


def doc_url(path: str, anchor: str | None = None) -> str | None:
    """A document of the repository at this version's tag (``v0.1.0``), when there is one."""
    base = repository()
    if base is None:
        return None
    return f"{base}/blob/v{__version__}/{path}" + (f"#{anchor}" if anchor else "")
