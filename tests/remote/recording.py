"""An httpx transport that does real HTTP and remembers what it sent, and when."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx


class RecordingTransport(httpx.HTTPTransport):
    """Real HTTP (to the D1 API stand-in), plus a log of (time sent, method, path, JSON body)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, str, str, Any]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        with self._lock:
            self.sent.append((time.monotonic(), request.method, request.url.path, body))
        return super().handle_request(request)
