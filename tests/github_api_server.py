"""A local HTTP server that STANDS IN FOR GitHub's REST API (issue comments only).

It is not GitHub: it keeps comments in memory and answers the four calls the sticky
pull-request comment makes (list with pagination, create, update), checking the bearer
token as GitHub would. Tests point ``GITHUB_API_URL`` at it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

_LIST = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
_ONE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")


@dataclass
class FakeGitHub:
    """The stand-in's state: comments per (repository, issue), and every request seen."""

    token: str
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000
    url: str = ""

    def all_comments(self) -> list[dict[str, Any]]:
        return [c for found in self.comments.values() for c in found]


Reply = tuple[int, Any]


def _list(state: FakeGitHub, found: re.Match[str], query: str, _body: Any) -> Reply:
    params = parse_qs(query)
    per_page = int(params.get("per_page", ["30"])[0])
    page = int(params.get("page", ["1"])[0])
    comments = state.comments.get((found[1], int(found[2])), [])
    return 200, comments[(page - 1) * per_page : page * per_page]


def _create(state: FakeGitHub, found: re.Match[str], _query: str, body: Any) -> Reply:
    comment = {"id": state.next_id, "body": body["body"]}
    state.next_id += 1
    state.comments.setdefault((found[1], int(found[2])), []).append(comment)
    return 201, comment


def _update(state: FakeGitHub, found: re.Match[str], _query: str, body: Any) -> Reply:
    match = [c for c in state.all_comments() if c["id"] == int(found[2])]
    if not match:
        return 404, {"message": "Not Found"}
    match[0]["body"] = body["body"]
    return 200, match[0]


# (method, path) -> what answers it; anything else is GitHub's 404.
_ROUTES: tuple[tuple[str, re.Pattern[str], Any], ...] = (
    ("GET", _LIST, _list),
    ("POST", _LIST, _create),
    ("PATCH", _ONE, _update),
)


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str) -> None:
            """Record the request, check the token as GitHub does (before the route), answer."""
            url = urlparse(self.path)
            state.requests.append((method, url.path))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, {"message": "Bad credentials"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            for verb, pattern, answer in _ROUTES:
                found = pattern.match(url.path) if verb == method else None
                if found:
                    with lock:
                        status, reply = answer(state, found, url.query, body)
                    self._send(status, reply)
                    return
            self._send(404, {"message": "Not Found"})

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

    return Handler


@contextmanager
def github_api(token: str) -> Iterator[FakeGitHub]:
    """Serve the stand-in on a free local port for the duration of the block."""
    state = FakeGitHub(token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
