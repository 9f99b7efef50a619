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

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, {"message": "Bad credentials"})
                return False
            return True

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:
            url = urlparse(self.path)
            state.requests.append(("GET", url.path))
            found = _LIST.match(url.path)
            if not self._authorized():
                return
            if not found:
                self._send(404, {"message": "Not Found"})
                return
            query = parse_qs(url.query)
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            with lock:
                comments = state.comments.get((found[1], int(found[2])), [])
                self._send(200, comments[(page - 1) * per_page : page * per_page])

        def do_POST(self) -> None:
            url = urlparse(self.path)
            state.requests.append(("POST", url.path))
            found = _LIST.match(url.path)
            if not self._authorized():
                return
            if not found:
                self._send(404, {"message": "Not Found"})
                return
            with lock:
                comment = {"id": state.next_id, "body": self._body()["body"]}
                state.next_id += 1
                state.comments.setdefault((found[1], int(found[2])), []).append(comment)
            self._send(201, comment)

        def do_PATCH(self) -> None:
            url = urlparse(self.path)
            state.requests.append(("PATCH", url.path))
            found = _ONE.match(url.path)
            if not self._authorized():
                return
            with lock:
                match = [c for c in state.all_comments() if found and c["id"] == int(found[2])]
                if not match:
                    self._send(404, {"message": "Not Found"})
                    return
                match[0]["body"] = self._body()["body"]
            self._send(200, match[0])

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
