"""A scriptable fault proxy, for tests only: it sits between orchestrate and the D1 API
stand-in (``tests/d1_api_server.py``, itself a stand-in for Cloudflare, not Cloudflare)
and misbehaves the way networks and servers do.

Faults wait in a FIFO queue; each request takes the first queued fault that matches
its method, path (substring, query string included) and body (substring of the raw
request body, e.g. a migration's file name). A request no fault matches is forwarded
unchanged. Kinds::

    delay(seconds)                   wait, then forward
    trickle(seconds, chunk=1)        forward, then send the answer's body ``chunk`` bytes per ``seconds``
    trickle_head(seconds, chunk=1)   forward, then send the status line and headers that way
    drop_before()                    close the connection without forwarding (nothing ran)
    drop_after()                     forward (it ran), then close without answering
    body(data, status=200)           forward (it ran), then answer ``data`` instead
    redirect(location, status=302)   answer a redirect without forwarding
    status(code, headers, data)      answer ``code`` with ``headers`` without forwarding

``then_down=True`` on any fault sets ``down`` once it has fired.
``down = True`` makes every request a ``drop_before`` (an API that became unreachable).

    with D1ApiServer(tmp) as api, FaultProxy(api.base_url) as proxy:
        proxy.add(Fault.body(b"<html>", body_contains="0002_"))
        ... point CLOUDFLARE_API_BASE_URL at proxy.base_url ...
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour (see the module docstring for the kinds)."""

    kind: str
    method: str | None = None
    path: str | None = None
    body_contains: str | None = None
    seconds: float = 0.0
    chunk: int = 1
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    data: bytes = b""
    then_down: bool = False  # after this fault, the API becomes unreachable (``down``)

    def matches(self, method: str, path: str, body: bytes) -> bool:
        """Does a request with this method, path and body take this fault?"""
        return (
            (self.method is None or self.method == method)
            and (self.path is None or self.path in path)
            and (self.body_contains is None or self.body_contains.encode() in body)
        )

    @classmethod
    def delay(cls, seconds: float, **match: Any) -> Fault:
        return cls("delay", seconds=seconds, **match)

    @classmethod
    def trickle(cls, seconds: float, chunk: int = 1, **match: Any) -> Fault:
        return cls("trickle", seconds=seconds, chunk=chunk, **match)

    @classmethod
    def trickle_head(cls, seconds: float, chunk: int = 1, **match: Any) -> Fault:
        return cls("trickle_head", seconds=seconds, chunk=chunk, **match)

    @classmethod
    def drop_before(cls, **match: Any) -> Fault:
        return cls("drop_before", **match)

    @classmethod
    def drop_after(cls, **match: Any) -> Fault:
        return cls("drop_after", **match)

    @classmethod
    def body(cls, data: bytes, status: int = 200, **match: Any) -> Fault:
        return cls("body", data=data, status=status, **match)

    @classmethod
    def redirect(cls, location: str, status: int = 302, **match: Any) -> Fault:
        return cls("status", status=status, headers=(("Location", location),), **match)

    @classmethod
    def answer(
        cls, status: int, headers: dict[str, str] | None = None, data: bytes = b"", **match: Any
    ) -> Fault:
        return cls(
            "status", status=status, headers=tuple((headers or {}).items()), data=data, **match
        )


class FaultProxy:
    """Forwards to ``upstream`` (a base URL such as the stand-in's) and applies faults."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.base_path = parts.path
        self.down = False
        self._faults: list[tuple[Fault, int]] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[str, str, str]] = []  # (kind, method, path)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.base_path}"

    def add(self, fault: Fault, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests it matches."""
        with self._lock:
            self._faults.append((fault, times))

    def take(self, method: str, path: str, body: bytes) -> Fault | None:
        """The first queued fault this request matches (consumed), if any."""
        with self._lock:
            if self.down:
                return Fault("drop_before")
            for index, (fault, times) in enumerate(self._faults):
                if fault.matches(method, path, body):
                    if times <= 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = (fault, times - 1)
                    self.fired.append((fault.kind, method, path))
                    return fault
        return None

    def start(self) -> FaultProxy:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.proxy = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request upstream unchanged; its status, headers and body."""
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS]
            return response.status, kept, data
        finally:
            connection.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.take(self.command, self.path, body)
        kind = fault.kind if fault is not None else "forward"
        try:
            self._apply(proxy, kind, fault, body)
        finally:
            if fault is not None and fault.then_down:
                proxy.down = True

    def _apply(self, proxy: FaultProxy, kind: str, fault: Fault | None, body: bytes) -> None:
        if kind == "drop_before":
            self._drop()
            return
        if kind == "status" and fault is not None:
            self._reply(fault.status, list(fault.headers), fault.data)
            return
        if kind == "delay" and fault is not None:
            time.sleep(fault.seconds)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        status, answer_headers, data = proxy.forward(self.command, self.path, headers, body)
        if kind == "drop_after":
            self._drop()
        elif kind == "body" and fault is not None:
            self._reply(fault.status, [("Content-Type", "application/json")], fault.data)
        elif kind == "trickle" and fault is not None:
            self._trickle(status, answer_headers, data, fault)
        elif kind == "trickle_head" and fault is not None:
            self._trickle_head(status, answer_headers, data, fault)
        else:
            self._reply(status, answer_headers, data)

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _trickle(
        self, status: int, headers: list[tuple[str, str]], data: bytes, fault: Fault
    ) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):
            for start in range(0, len(data), fault.chunk):
                self.wfile.write(data[start : start + fault.chunk])
                self.wfile.flush()
                time.sleep(fault.seconds)

    def _trickle_head(
        self, status: int, headers: list[tuple[str, str]], data: bytes, fault: Fault
    ) -> None:
        """The status line and headers ``chunk`` bytes per ``seconds``, then the body at once."""
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        lines += [f"{key}: {value}" for key, value in headers]
        lines += [f"Content-Length: {len(data)}", "", ""]
        head = "\r\n".join(lines).encode("latin-1")
        self.close_connection = True
        with contextlib.suppress(OSError):
            for start in range(0, len(head), fault.chunk):
                self.wfile.write(head[start : start + fault.chunk])
                self.wfile.flush()
                time.sleep(fault.seconds)
            self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
