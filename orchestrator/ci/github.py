"""One sticky pull-request comment through the GitHub REST API.

The comment carries a hidden marker line; each run lists the pull request's comments,
updates the one with the marker, or posts it when there is none (as atlas-action does).
The token goes in the ``Authorization`` header only: never in a message or a log.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from orchestrator.errors import TargetError, UsageError

DEFAULT_API = "https://api.github.com"
PAGE = 100


@dataclass(frozen=True)
class PullRequest:
    """Where the comment goes: ``owner/name`` and the pull request's number."""

    repository: str
    number: int


def pull_request_from_env(number: int | None = None) -> PullRequest | None:
    """The pull request of this workflow run (``GITHUB_EVENT_PATH``), or None off one."""
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if number is None:
        number = _event_number(os.environ.get("GITHUB_EVENT_PATH"))
    if number is None:
        return None
    if "/" not in repository:
        raise UsageError("GITHUB_REPOSITORY is not set to owner/name", hint="run it in a workflow")
    return PullRequest(repository, number)


def _event_number(path: str | None) -> int | None:
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read GITHUB_EVENT_PATH {path}: {exc}") from None
    number = (event.get("pull_request") or {}).get("number")
    return number if isinstance(number, int) else None


class GitHub:
    """The few REST calls the comment needs, over one ``httpx.Client``."""

    def __init__(self, token: str, base_url: str | None = None, timeout: float = 30.0) -> None:
        self._client = httpx.Client(
            base_url=(base_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "d1-orchestrate",
            },
            timeout=timeout,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TargetError(f"GitHub API: {method} {path}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            message = _message(response)
            raise TargetError(
                f"GitHub API: {method} {path} answered {response.status_code}: {message}",
                hint="the token needs pull-requests: write (permissions in the workflow)",
            )
        return response.json() if response.content else None

    def find_comment(self, pr: PullRequest, marker: str) -> int | None:
        """The id of the pull request's comment that holds ``marker``, if any."""
        page = 1
        while True:
            path = f"/repos/{pr.repository}/issues/{pr.number}/comments"
            found = self._call("GET", path, params={"per_page": PAGE, "page": page})
            for comment in found or ():
                if marker in str(comment.get("body", "")):
                    return int(comment["id"])
            if not found or len(found) < PAGE:
                return None
            page += 1

    def upsert_comment(self, pr: PullRequest, marker: str, body: str) -> tuple[str, int]:
        """Update the marked comment, or post it: ("updated" | "posted", its id)."""
        existing = self.find_comment(pr, marker)
        if existing is not None:
            path = f"/repos/{pr.repository}/issues/comments/{existing}"
            self._call("PATCH", path, json={"body": body})
            return "updated", existing
        posted = self._call(
            "POST", f"/repos/{pr.repository}/issues/{pr.number}/comments", json={"body": body}
        )
        return "posted", int(posted["id"])


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return response.reason_phrase
