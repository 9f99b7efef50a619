"""Which commit a workspace is at, for the dashboard's header and its file links.

Read-only git calls with an argument list; outside a repository, or without git,
every field is empty. A remote URL is reduced to the hosting site's web address, and
never kept with the user name or token an ``https://user:token@`` remote may carry.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

GitRunner = Callable[[Sequence[str], Path], "subprocess.CompletedProcess[str]"]
# A dashboard must not wait on a wedged repository (a held index lock, a slow network disk).
GIT_TIMEOUT = 10.0


def run_git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run git read-only with an argument list; no git, or a timeout, fails like a non-repo."""
    git = shutil.which("git")
    if git is None:
        return subprocess.CompletedProcess(["git", *args], 127, "", "git not found")
    try:
        return subprocess.run(  # noqa: S603 - an argument list, no shell
            [git, "--no-optional-locks", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=GIT_TIMEOUT,
        )
    except (subprocess.TimeoutExpired, OSError) as error:
        return subprocess.CompletedProcess(["git", *args], 124, "", str(error))


@dataclass(frozen=True)
class GitInfo:
    """The checked-out commit, whether tracked files differ from it, and where it lives."""

    commit: str | None = None
    dirty: bool = False
    web_url: str | None = None
    prefix: str = ""  # the workspace root relative to the repository's top level, with "/"

    def blob_url(self, path: str, line: int | None = None) -> str | None:
        """A link to ``path`` (relative to the workspace root) at this commit, when known."""
        if not (self.web_url and self.commit):
            return None
        infix = "/-/blob/" if "gitlab" in self.web_url else "/blob/"
        anchor = f"#L{line}" if line else ""
        return f"{self.web_url}{infix}{self.commit}/{self.prefix}{path}{anchor}"


# The sites whose file pages we know how to address: github.com/o/r/blob/<sha>/<path>.
_HOSTS = ("github.com", "gitlab.com")
_SCP = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):(?P<path>[\w./-]+?)(?:\.git)?/?$")
_URL = re.compile(
    r"^(?:https?|ssh|git)://(?:[^@/]*@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>[\w./-]+?)(?:\.git)?/?$"
)


def web_url(remote: str) -> str | None:
    """``git@github.com:o/r.git`` or ``https://token@github.com/o/r`` -> ``https://github.com/o/r``."""
    found = _SCP.match(remote.strip()) or _URL.match(remote.strip())
    if found is None or found["host"] not in _HOSTS:
        return None
    return f"https://{found['host']}/{found['path']}"


def read_git(root: Path, git: GitRunner = run_git) -> GitInfo:
    """The commit ``root`` is at (empty outside a repository)."""
    head = git(["rev-parse", "HEAD", "--show-prefix"], root)
    if head.returncode != 0:
        return GitInfo()
    lines = head.stdout.splitlines()
    commit = lines[0].strip() if lines else None
    prefix = lines[1].strip() if len(lines) > 1 else ""
    status = git(["status", "--porcelain", "--untracked-files=no"], root)
    remote = git(["config", "--get", "remote.origin.url"], root)
    url = web_url(remote.stdout) if remote.returncode == 0 else None
    return GitInfo(commit or None, bool(status.stdout.strip()), url, prefix)
