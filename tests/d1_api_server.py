"""A local stand-in for Cloudflare's D1 REST API, for tests and benchmarks only.

Cloudflare cannot be reached from the test machines, so the remote engine of
``orchestrate`` is exercised against this server instead. It is NOT Cloudflare
and NOT production code: it follows the documented D1 REST API closely enough
that a client written against the real API works against it unchanged, and it
adds fault injection so that retries, timeouts and "did my batch commit?"
ambiguity can be tested.

Endpoints (all under the base path ``/client/v4``)::

    GET  /accounts/{account}/d1/database                      list databases
    POST /accounts/{account}/d1/database                      create {"name": ...}
    GET  /accounts/{account}/d1/database/{id}                 database details
    GET  /accounts/{account}/d1/database/{name}[?fields=uuid,name]  the same, looked up by name
    POST /accounts/{account}/d1/database/{id}/query           {"sql", "params"?} or {"batch": [...]}
    POST /accounts/{account}/d1/database/{id}/raw             same, rows as arrays
    GET  /accounts/{account}/d1/database/{id}/time_travel/bookmark[?timestamp=]
    POST /accounts/{account}/d1/database/{id}/time_travel/restore?bookmark=|timestamp=
    POST /accounts/{account}/d1/database/{id}/import          {"action": "init"|"ingest"|"poll", ...}
    PUT  /__import_upload/{token}                             the upload URL ``init`` returns

The import flow (D1's way for SQL too big for ``/query``): ``init`` with the file's
md5 as ``etag`` returns an ``upload_url`` (no Authorization there, as with the
real presigned URL); the client PUTs the file; ``ingest`` with ``etag`` and
``filename`` runs it (all statements in one transaction, statements may exceed
100 KB) and returns ``at_bookmark``; ``poll`` with ``current_bookmark`` says
``complete`` (with ``final_bookmark`` and ``num_queries``) or ``error``.

Every response uses Cloudflare's envelope
``{"success", "errors": [{"code", "message"}], "messages", "result"}``.

What it reproduces of remote D1:

* ``Authorization: Bearer <token>``: missing -> 401, wrong -> 403, code 10000.
  Unknown account -> 404 (code 7403); unknown database -> 404 (code 7404).
* Each database is a real SQLite file (``<dir>/<uuid>.sqlite``) with
  ``PRAGMA foreign_keys=ON``.
* One request's ``sql`` may hold several statements; they run as ONE atomic
  batch (a single transaction: any failure rolls everything back and returns
  HTTP 400, ``success: false``, code 7500 and ``"<sqlite message>: SQLITE_X"``).
  Deferred foreign keys are checked at commit, as on D1.
* Statements are split with :func:`sqlite3.complete_statement`, so trigger
  bodies (``BEGIN ... END;``) and semicolons in strings or comments are handled.
* An authorizer refuses what D1 refuses: ``BEGIN``/``COMMIT``/``ROLLBACK``/
  ``SAVEPOINT``/``RELEASE`` (D1's "please use the state.storage.transaction()"
  message), anything in the ``temp`` schema (``CREATE TEMP TABLE`` ->
  ``not authorized: SQLITE_AUTH``), objects named ``_cf_*``, ``ATTACH``, and
  pragmas outside D1's allow-list. A statement over 100 KB -> SQLITE_TOOBIG.
* Time Travel: a bookmark encodes a version that increases with every
  committed write; a snapshot of the file is kept per version (SQLite backup
  API), so a restore really restores.

Fault injection, changeable while the server runs (thread-safe)::

    server.latency = 0.05                                  # added to every request
    server.faults.add(Fault.http_429(retry_after=0.1, path="/query"))
    server.faults.http_5xx(status=503)                     # add-and-return shortcut
    server.faults.timeout(seconds=2.0)                     # sleep, then handle normally
    server.faults.drop_after_commit(path="/query")         # commit, close without reply
    server.faults.drop_before_commit(path="/query")        # close without executing
    server.faults.http_error(403, path="/query")           # e.g. a token without D1 Edit
    server.requests      # [RequestRecord(method, path, sql, status, fault)], token never logged
    server.request_count

Faults wait in a FIFO queue; each request consumes the first queued fault that
matches its method and path (substring of the path including the query string).

Use from tests::

    with D1ApiServer(tmp_path, token="t0k", account_id="acc") as server:
        db_id = server.create_database("io-db")
        server.base_url          # "http://127.0.0.1:PORT/client/v4"
        server.sqlite_path(db_id)

or by hand / from benchmarks::

    python tests/d1_api_server.py --dir DIR --token T --account A \
        [--latency 0.05] [--port 0] --db io-db=UUID --db other-db
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import sys
import threading
import time
import uuid as uuid_module
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "TRANSACTION_REFUSED",
    "D1ApiServer",
    "Fault",
    "FaultKind",
    "FaultQueue",
    "RequestRecord",
    "split_statements",
]

API_PREFIX = "/client/v4"
# Appended to the stand-in's own statements: their cached form (statements are cached,
# and the authorizer runs only when one is prepared) never serves a client's text.
_INTERNAL = "/* d1-api-server internal */"
UPLOAD_PREFIX = "/__import_upload/"
MAX_STATEMENT_BYTES = 100_000

TRANSACTION_REFUSED = (
    "To execute a transaction, please use the state.storage.transaction() or "
    "state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or "
    "SAVEPOINT statements. The JavaScript API is safer because it will automatically "
    "roll back on exceptions, and because it interacts correctly with Durable Objects' "
    "automatic atomic write coalescing."
)

# Cloudflare-like error codes.
CODE_AUTH = 10000
CODE_RATE_LIMIT = 971
CODE_NO_ROUTE = 7000
CODE_METHOD = 7001
CODE_BAD_REQUEST = 7400
CODE_ACCOUNT = 7403
CODE_NOT_FOUND = 7404
CODE_SQL = 7500
CODE_EXISTS = 7502
CODE_INTERNAL = 7500

JsonObject = dict[str, Any]
SqlValue = None | int | float | str | bytes

FaultKind = Literal[
    "http_429", "http_5xx", "http_error", "timeout", "drop_after_commit", "drop_before_commit"
]

_SQLITE_PRIMARY_NAMES: dict[int, str] = {
    1: "SQLITE_ERROR",
    2: "SQLITE_INTERNAL",
    3: "SQLITE_PERM",
    4: "SQLITE_ABORT",
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    9: "SQLITE_INTERRUPT",
    10: "SQLITE_IOERR",
    11: "SQLITE_CORRUPT",
    12: "SQLITE_NOTFOUND",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
    16: "SQLITE_EMPTY",
    17: "SQLITE_SCHEMA",
    18: "SQLITE_TOOBIG",
    19: "SQLITE_CONSTRAINT",
    20: "SQLITE_MISMATCH",
    21: "SQLITE_MISUSE",
    22: "SQLITE_NOLFS",
    23: "SQLITE_AUTH",
    24: "SQLITE_FORMAT",
    25: "SQLITE_RANGE",
    26: "SQLITE_NOTADB",
}

# Pragmas D1 lets through (name -> whether an argument is allowed).
_ALLOWED_PRAGMAS: dict[str, bool] = {
    "table_list": False,
    "table_info": True,
    "table_xinfo": True,
    "data_version": False,
    "page_size": False,
    "case_sensitive_like": True,
    "foreign_keys": True,
    "defer_foreign_keys": True,
    "ignore_check_constraints": True,
    "legacy_alter_table": True,
    "recursive_triggers": True,
    "reverse_unordered_selects": True,
    "foreign_key_check": True,
    "foreign_key_list": True,
    "index_info": True,
    "index_list": True,
    "index_xinfo": True,
    "quick_check": True,
    "optimize": True,
}

_WRITE_ACTIONS: frozenset[int] = frozenset(
    {
        sqlite3.SQLITE_INSERT,
        sqlite3.SQLITE_UPDATE,
        sqlite3.SQLITE_DELETE,
        sqlite3.SQLITE_CREATE_INDEX,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_CREATE_TRIGGER,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_CREATE_VTABLE,
        sqlite3.SQLITE_DROP_INDEX,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_DROP_TRIGGER,
        sqlite3.SQLITE_DROP_VIEW,
        sqlite3.SQLITE_DROP_VTABLE,
        sqlite3.SQLITE_ALTER_TABLE,
        sqlite3.SQLITE_REINDEX,
        sqlite3.SQLITE_ANALYZE,
    }
)

_NAME_ACTIONS: frozenset[int] = frozenset(
    {
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_DELETE,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_INSERT,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_DROP_VIEW,
        sqlite3.SQLITE_REINDEX,
        sqlite3.SQLITE_READ,
        sqlite3.SQLITE_UPDATE,
        sqlite3.SQLITE_ANALYZE,
    }
)

_READ = sqlite3.SQLITE_READ
# Allowed whatever their arguments (they name no object and no database).
_HARMLESS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION})

_TWO_NAME_ACTIONS: frozenset[int] = frozenset(
    {
        sqlite3.SQLITE_CREATE_INDEX,
        sqlite3.SQLITE_DROP_INDEX,
        sqlite3.SQLITE_CREATE_TRIGGER,
        sqlite3.SQLITE_DROP_TRIGGER,
        sqlite3.SQLITE_CREATE_VTABLE,
        sqlite3.SQLITE_DROP_VTABLE,
    }
)


# --------------------------------------------------------------------------- SQL text


def _skip_comments_and_space(sql: str, i: int) -> int:
    """Index of the first character at or after ``i`` that is not blank or comment."""
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            break
    return i


def _is_blank(sql: str) -> bool:
    """True if ``sql`` holds nothing but whitespace, comments and semicolons."""
    i = 0
    while True:
        i = _skip_comments_and_space(sql, i)
        if i < len(sql) and sql[i] == ";":
            i += 1
            continue
        return i >= len(sql)


def split_statements(sql: str) -> list[str]:
    """Split ``sql`` into statements as SQLite's parser sees them.

    Text is accumulated up to each ``;`` and a statement is cut where
    :func:`sqlite3.complete_statement` says it is complete, so semicolons in
    strings, quoted names, comments and trigger bodies do not split. Blank
    pieces (only comments or ``;``) are dropped; a trailing statement without
    ``;`` is kept.
    """
    statements: list[str] = []
    start = 0
    search = 0
    while True:
        semi = sql.find(";", search)
        if semi < 0:
            break
        piece = sql[start : semi + 1]
        search = semi + 1
        if sqlite3.complete_statement(piece):
            if not _is_blank(piece):
                statements.append(piece.strip())
            start = semi + 1
    rest = sql[start:]
    if not _is_blank(rest):
        statements.append(rest.strip())
    return statements


class _TooBig(sqlite3.DataError):
    """A statement over D1's 100 KB limit (raised before SQLite sees it)."""


def _sqlite_error_text(exc: sqlite3.Error) -> str:
    if isinstance(exc, _TooBig):
        return "statement too long: SQLITE_TOOBIG"
    code = getattr(exc, "sqlite_errorcode", None)
    name = _SQLITE_PRIMARY_NAMES.get(code & 0xFF) if isinstance(code, int) else None
    if name is None:
        name = "SQLITE_ERROR"
    return f"{exc}: {name}"


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return list(value)
    return value


def _sql_param(value: object) -> SqlValue:
    if value is None or isinstance(value, (int, float, str)):
        if isinstance(value, bool):
            return int(value)
        return value
    if isinstance(value, list) and all(isinstance(b, int) for b in value):
        return bytes(cast(list[int], value))
    raise _ApiError(400, CODE_BAD_REQUEST, f"unsupported parameter value: {value!r}")


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the first request that matches it.

    ``method`` (e.g. ``"POST"``) and ``path`` (a substring of the request path,
    query string included) narrow which requests match; ``None`` matches all.
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    status: int = 0
    retry_after: float | None = None
    seconds: float = 0.0
    code: int = CODE_AUTH

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path in path

    @classmethod
    def http_429(
        cls, retry_after: float | None = 1.0, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        """Answer 429 (code 971) with a ``Retry-After`` header; nothing is executed."""
        return cls("http_429", method, path, status=429, retry_after=retry_after)

    @classmethod
    def http_5xx(
        cls, status: int = 503, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        """Answer ``status`` (500: JSON envelope; 502/503/504: an HTML page, as
        Cloudflare's edge does); nothing is executed."""
        if not 500 <= status <= 599:
            raise ValueError(f"not a 5xx status: {status}")
        return cls("http_5xx", method, path, status=status)

    @classmethod
    def http_error(
        cls,
        status: int = 403,
        code: int = CODE_AUTH,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """Answer ``status`` with Cloudflare's error envelope (default: 403, code 10000,
        "Authentication error", as for a token that lacks a permission); nothing is executed."""
        if not 400 <= status <= 499:
            raise ValueError(f"not a 4xx status: {status}")
        return cls("http_error", method, path, status=status, code=code)

    @classmethod
    def timeout(
        cls, seconds: float = 2.0, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        """Sleep ``seconds`` before handling the request normally (so a client
        that gave up earlier may still see its batch committed)."""
        return cls("timeout", method, path, seconds=seconds)

    @classmethod
    def drop_after_commit(cls, *, method: str | None = None, path: str | None = None) -> Fault:
        """Execute and commit the request, then close the socket without a response."""
        return cls("drop_after_commit", method, path)

    @classmethod
    def drop_before_commit(cls, *, method: str | None = None, path: str | None = None) -> Fault:
        """Close the socket without executing anything and without a response."""
        return cls("drop_before_commit", method, path)


class FaultQueue:
    """Thread-safe FIFO of :class:`Fault` s. Each request consumes at most one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []
        self._fired: list[tuple[Fault, str, str]] = []

    def add(self, *faults: Fault, times: int = 1) -> None:
        """Queue ``faults`` (in order), the whole sequence ``times`` times."""
        with self._lock:
            for _ in range(times):
                self._queue.extend(faults)

    def http_429(
        self, retry_after: float | None = 1.0, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        fault = Fault.http_429(retry_after, method=method, path=path)
        self.add(fault)
        return fault

    def http_5xx(
        self, status: int = 503, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        fault = Fault.http_5xx(status, method=method, path=path)
        self.add(fault)
        return fault

    def http_error(
        self,
        status: int = 403,
        code: int = CODE_AUTH,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        fault = Fault.http_error(status, code, method=method, path=path)
        self.add(fault)
        return fault

    def timeout(
        self, seconds: float = 2.0, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        fault = Fault.timeout(seconds, method=method, path=path)
        self.add(fault)
        return fault

    def drop_after_commit(self, *, method: str | None = None, path: str | None = None) -> Fault:
        fault = Fault.drop_after_commit(method=method, path=path)
        self.add(fault)
        return fault

    def drop_before_commit(self, *, method: str | None = None, path: str | None = None) -> Fault:
        fault = Fault.drop_before_commit(method=method, path=path)
        self.add(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults not yet consumed, in queue order."""
        with self._lock:
            return list(self._queue)

    @property
    def fired(self) -> list[tuple[Fault, str, str]]:
        """``(fault, method, path)`` for every fault consumed so far."""
        with self._lock:
            return list(self._fired)

    def take(self, method: str, path: str) -> Fault | None:
        """Remove and return the first queued fault matching the request."""
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.matches(method, path):
                    del self._queue[index]
                    self._fired.append((fault, method, path))
                    return fault
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it. The token is never recorded."""

    method: str
    path: str
    sql: str | None
    status: int | None  # None when the connection was dropped without a response
    fault: FaultKind | None = None
    database_id: str | None = None


# --------------------------------------------------------------------------- databases


class _ApiError(Exception):
    def __init__(
        self, status: int, code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class _Version:
    number: int
    at: float
    snapshot: Path | None


@dataclass
class _StatementResult:
    columns: list[str]
    rows: list[list[object]]
    meta: JsonObject


@dataclass
class _Database:
    uuid: str
    name: str
    path: Path
    snapshot_dir: Path
    created_at: str
    conn: sqlite3.Connection
    lock: threading.Lock = field(default_factory=threading.Lock)
    enforce: bool = False
    wrote: bool = False
    prepared: int = 0  # authorizer calls: unchanged over an execute means a cached statement
    writes: dict[str, bool] = field(default_factory=dict)  # sql -> wrote, when last prepared
    refusal: str | None = None
    version: int = 1
    history: list[_Version] = field(default_factory=list)

    # -- authorizer ---------------------------------------------------------------

    def authorize(
        self,
        action: int,
        arg1: str | None,
        arg2: str | None,
        db_name: str | None,
        _source: str | None,
    ) -> int:
        if not self.enforce:
            return sqlite3.SQLITE_OK
        self.prepared += 1
        # The calls a statement makes by the hundred first (same answers as below).
        if action == _READ and db_name == "main":
            ok = arg1 is None or arg1[:4].lower() != "_cf_"
            return sqlite3.SQLITE_OK if ok else sqlite3.SQLITE_DENY
        if action in _HARMLESS:
            return sqlite3.SQLITE_OK
        if action in _WRITE_ACTIONS:
            self.wrote = True
        if action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT):
            self.refusal = TRANSACTION_REFUSED
            return sqlite3.SQLITE_DENY
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return sqlite3.SQLITE_DENY
        if action in (
            sqlite3.SQLITE_CREATE_TEMP_INDEX,
            sqlite3.SQLITE_CREATE_TEMP_TABLE,
            sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
            sqlite3.SQLITE_CREATE_TEMP_VIEW,
            sqlite3.SQLITE_DROP_TEMP_INDEX,
            sqlite3.SQLITE_DROP_TEMP_TABLE,
            sqlite3.SQLITE_DROP_TEMP_TRIGGER,
            sqlite3.SQLITE_DROP_TEMP_VIEW,
        ):
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_ALTER_TABLE:
            # arg1 is the schema name here, arg2 the table.
            if arg1 not in (None, "main") or not _allowed_name(arg2):
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if db_name == "temp":
            if action in (sqlite3.SQLITE_READ, sqlite3.SQLITE_UPDATE) and _allowed_name(arg1):
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_DENY
        if db_name not in (None, "main"):
            return sqlite3.SQLITE_DENY
        if action in _NAME_ACTIONS:
            return sqlite3.SQLITE_OK if _allowed_name(arg1) else sqlite3.SQLITE_DENY
        if action in _TWO_NAME_ACTIONS:
            ok = _allowed_name(arg1) and _allowed_name(arg2)
            return sqlite3.SQLITE_OK if ok else sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            return sqlite3.SQLITE_OK if _allowed_pragma(arg1, arg2) else sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    # -- helpers (callers hold self.lock) ---------------------------------------

    def size(self) -> int:
        page_count = self.conn.execute(f"PRAGMA page_count {_INTERNAL}").fetchone()[0]
        page_size = self.conn.execute(f"PRAGMA page_size {_INTERNAL}").fetchone()[0]
        return int(page_count) * int(page_size)

    def num_tables(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' "
            + _INTERNAL
        ).fetchone()
        return int(row[0])

    def snapshot(self, number: int) -> Path:
        target = self.snapshot_dir / f"{number:016x}.sqlite"
        if not target.exists():
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            dst = sqlite3.connect(partial)
            try:
                self.conn.backup(dst)
            finally:
                dst.close()
            partial.replace(target)
        return target

    def record_version(self, keep_snapshot: bool) -> None:
        self.version += 1
        snap = self.snapshot(self.version) if keep_snapshot else None
        self.history.append(_Version(self.version, time.time(), snap))

    def current_snapshot(self) -> _Version:
        entry = self.history[-1]
        if entry.snapshot is None:
            entry.snapshot = self.snapshot(entry.number)
        return entry


def _connect(path: Path) -> sqlite3.Connection:
    """A database's connection: statements cached (the authorizer runs when one is prepared,
    and ``_Database.writes`` remembers what it saw), foreign keys on as on D1."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # executescript: these bypass the statement cache, so no client text ever reuses them.
    # Durability against a crash of this machine is not what the stand-in models; syncing
    # every commit made each write cost milliseconds, and thousands of databases disk-bound.
    conn.executescript("PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF;")
    return conn


def _allowed_name(name: str | None) -> bool:
    return name is None or name[:4].lower() != "_cf_"


def _allowed_pragma(pragma: str | None, argument: str | None) -> bool:
    if pragma is None:
        return False
    takes_argument = _ALLOWED_PRAGMAS.get(pragma.lower())
    if takes_argument is None:
        return False
    if argument is None:
        return True
    if not takes_argument:
        return False
    return _allowed_name(argument.strip("'\""))


# --------------------------------------------------------------------------- server


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a client that opens dozens of connections
    # at once (a fleet run, 32 jobs) had some of them reset before they were accepted.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], api: D1ApiServer, bind_and_activate: bool = True
    ) -> None:
        self.api = api
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(address, _Handler, bind_and_activate)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        with self._sockets_lock:
            self._sockets.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._sockets_lock:
            self._sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (timeouts, dropped connections) is expected here.
        if self.api.verbose:
            super().handle_error(request, client_address)

    def close_all_connections(self) -> None:
        with self._sockets_lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class _Dropped(Exception):
    """The handler decided to close the connection without answering."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm on, the second
    # waits for the client's delayed ACK (~40 ms per request), which Cloudflare's
    # edge does not add and which would swamp the injected latency.
    disable_nagle_algorithm = True
    server_version = "d1-api-test-server"
    sys_version = ""

    @property
    def api(self) -> D1ApiServer:
        return cast(_HttpServer, self.server).api

    def log_message(self, format: str, *args: Any) -> None:
        if self.api.verbose:
            sys.stderr.write(f"[d1-api] {self.command} {self.path.split('?')[0]} {args[1:]}\n")

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            return b""
        return self.rfile.read(size) if size > 0 else b""

    def _handle(self) -> None:
        api = self.api
        body = self._read_body()
        method = self.command
        path = self.path
        sql_for_log = _sql_from_body(body) if method == "POST" else None
        record_index = api._log_request(method, path, sql_for_log)
        status: int | None = None
        fault_kind: FaultKind | None = None
        try:
            latency = api.latency
            if latency > 0:
                time.sleep(latency)
            fault = api.faults.take(method, path)
            if fault is not None:
                fault_kind = fault.kind
            if fault is not None and fault.kind == "http_429":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = _format_seconds(fault.retry_after)
                raise _ApiError(
                    429,
                    CODE_RATE_LIMIT,
                    "Please wait and consider throttling your request speed",
                    headers,
                )
            if fault is not None and fault.kind == "http_error":
                message = "Authentication error" if fault.code == CODE_AUTH else "Request refused"
                raise _ApiError(fault.status, fault.code, message)
            if fault is not None and fault.kind == "http_5xx":
                status = fault.status
                self._send_5xx(fault.status)
                return
            if fault is not None and fault.kind == "drop_before_commit":
                raise _Dropped()
            if fault is not None and fault.kind == "timeout":
                time.sleep(fault.seconds)
            status, payload, db_id = api._dispatch(
                method, path, self.headers.get("Authorization"), body
            )
            api._set_request_database(record_index, db_id)
            if fault is not None and fault.kind == "drop_after_commit":
                raise _Dropped()
            self._send_json(status, payload)
        except _Dropped:
            status = None
            self.close_connection = True
        except _ApiError as err:
            status = err.status
            self._send_json(err.status, _envelope_error(err.code, err.message), err.headers)
        except OSError:
            self.close_connection = True
        except Exception as exc:  # pragma: no cover - a bug in the server itself
            status = 500
            try:
                self._send_json(500, _envelope_error(CODE_INTERNAL, f"test server error: {exc!r}"))
            except (OSError, ValueError):
                self.close_connection = True
        finally:
            api._finish_request(record_index, status, fault_kind)

    def _send_json(
        self, status: int, payload: JsonObject, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("CF-RAY", f"{secrets.token_hex(8)}-TST")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (OSError, ValueError):
            self.close_connection = True

    def _send_5xx(self, status: int) -> None:
        if status == 500:
            self._send_json(500, _envelope_error(CODE_INTERNAL, "Internal server error"))
            return
        page = (
            f"<html><head><title>{status} | Cloudflare</title></head>"
            f"<body><h1>Error {status}</h1><p>test server injected fault</p></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        try:
            self.wfile.write(page)
        except (OSError, ValueError):
            self.close_connection = True


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _sql_from_body(body: bytes) -> str | None:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    sql = data.get("sql")
    if isinstance(sql, str):
        return sql
    batch = data.get("batch")
    if isinstance(batch, list):
        parts = [item.get("sql") for item in batch if isinstance(item, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return None


def _only_fields(described: JsonObject, fields: str | None) -> JsonObject:
    """``?fields=uuid,name`` (what wrangler >= 4.102 asks): only those keys of the details."""
    if not fields:
        return described
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    return {key: described[key] for key in wanted if key in described}


def _envelope(result: object, **extra: object) -> JsonObject:
    payload: JsonObject = {"result": result, "success": True, "errors": [], "messages": []}
    payload.update(extra)
    return payload


def _envelope_error(code: int, message: str, result: object = None) -> JsonObject:
    return {
        "result": result,
        "success": False,
        "errors": [{"code": code, "message": message}],
        "messages": [],
    }


@dataclass
class _Upload:
    database: str
    etag: str
    data: bytes | None = None


class _ImportMixin:
    """D1's import flow: init, upload, ingest, poll (each its own handler)."""

    _uploads: dict[str, _Upload]
    _imports: dict[str, JsonObject]
    _lock: threading.Lock

    def _import(self, db: _Database, body: bytes) -> JsonObject:
        data = _parse_json_object(body)
        action = data.get("action")
        if action == "init":
            return self._import_init(db, data)
        if action == "ingest":
            return self._import_ingest(db, data)
        if action == "poll":
            return self._import_poll(db, data)
        raise _ApiError(400, CODE_BAD_REQUEST, f"Unknown import action: {action!r}")

    def _import_init(self, db: _Database, data: JsonObject) -> JsonObject:
        etag = data.get("etag")
        if not isinstance(etag, str) or not etag:
            raise _ApiError(400, CODE_BAD_REQUEST, "An etag (md5 of the file) is required")
        token = secrets.token_hex(12)
        with self._lock:
            self._uploads[token] = _Upload(db.uuid, etag)
        url = f"{cast(Any, self).base_url.removesuffix(API_PREFIX)}{UPLOAD_PREFIX}{token}"
        return _envelope({"success": True, "filename": token, "upload_url": url})

    def _import_upload(
        self, method: str, token: str, body: bytes
    ) -> tuple[int, JsonObject, str | None]:
        if method != "PUT":
            raise _ApiError(405, CODE_METHOD, "Method not allowed for this route")
        with self._lock:
            upload = self._uploads.get(token)
            if upload is None:
                raise _ApiError(404, CODE_NOT_FOUND, "No such upload")
            upload.data = body
        return 200, _envelope(None), upload.database

    def _import_ingest(self, db: _Database, data: JsonObject) -> JsonObject:
        with self._lock:
            upload = self._uploads.pop(str(data.get("filename")), None)
        if upload is None or upload.database != db.uuid or upload.data is None:
            raise _ApiError(400, CODE_BAD_REQUEST, "Nothing uploaded under that filename")
        if hashlib.md5(upload.data).hexdigest() != data.get("etag") or upload.etag != data.get(
            "etag"
        ):
            raise _ApiError(400, CODE_BAD_REQUEST, "The uploaded file does not match its etag")
        outcome = self._ingest_file(db, upload.data.decode("utf-8"))
        at = outcome["at_bookmark"]
        with self._lock:
            self._imports[at] = outcome
        return _envelope(
            {
                "success": True,
                "status": "active",
                "at_bookmark": at,
                "filename": data.get("filename"),
            }
        )

    def _ingest_file(self, db: _Database, sql: str) -> JsonObject:
        server = cast(Any, self)
        statements = split_statements(sql)
        with db.lock:
            at = server._bookmark(db, db.version)
            conn = db.conn
            conn.executescript("BEGIN IMMEDIATE")
            try:
                db.enforce = True
                for statement in statements:
                    conn.execute(statement).fetchall()
                db.enforce = False
                conn.commit()
            except sqlite3.Error as exc:
                db.enforce = False
                message = db.refusal or _sqlite_error_text(exc)
                db.refusal = None
                if conn.in_transaction:
                    conn.rollback()
                return {"at_bookmark": at, "status": "error", "error": message}
            db.record_version(server.snapshot_every_write)
            final = server._bookmark(db, db.version)
        return {
            "at_bookmark": at,
            "status": "complete",
            "final_bookmark": final,
            "num_queries": len(statements),
        }

    def _import_poll(self, db: _Database, data: JsonObject) -> JsonObject:
        with self._lock:
            outcome = self._imports.get(str(data.get("current_bookmark")))
        if outcome is None:
            raise _ApiError(400, CODE_BAD_REQUEST, "No import at that bookmark")
        if outcome["status"] == "error":
            return _envelope({"success": False, "status": "error", "error": outcome["error"]})
        result = {
            "final_bookmark": outcome["final_bookmark"],
            "num_queries": outcome["num_queries"],
            "meta": {},
        }
        return _envelope({"success": True, "status": "complete", "result": result})


class D1ApiServer(_ImportMixin):
    """The D1 REST API stand-in. Use as a context manager (or ``start``/``stop``).

    ``directory`` holds one ``<uuid>.sqlite`` per database and, under
    ``.time_travel/<uuid>/``, one snapshot per version. With
    ``snapshot_every_write=False`` snapshots are only taken when a bookmark is
    asked for (cheaper for big benchmarks; restoring to a timestamp then only
    works for versions that were bookmarked).
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        token: str = "test-token",
        account_id: str = "test-account",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        snapshot_every_write: bool = True,
        verbose: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.account_id = account_id
        self.verbose = verbose
        self.snapshot_every_write = snapshot_every_write
        self.faults = FaultQueue()
        self._token = token
        self._host = host
        self._port = port
        self._latency = float(latency)
        self._lock = threading.Lock()
        self._sql_lock = threading.Lock()
        self._databases: dict[str, _Database] = {}
        self._requests: list[RequestRecord] = []
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._uploads: dict[str, _Upload] = {}
        self._imports: dict[str, JsonObject] = {}

    def __repr__(self) -> str:  # never shows the token
        return f"D1ApiServer(directory={str(self.directory)!r}, account_id={self.account_id!r})"

    # -- lifecycle ---------------------------------------------------------------

    def start(self, listener: socket.socket | None = None) -> D1ApiServer:
        """Serve on a new socket, or on ``listener`` (one listening socket shared by
        several processes: ``--workers``)."""
        if self._httpd is not None:
            return self
        if listener is None:
            self._httpd = _HttpServer((self._host, self._port), self)
        else:
            self._httpd = _HttpServer(listener.getsockname()[:2], self, bind_and_activate=False)
            self._httpd.socket.close()
            self._httpd.socket = listener
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="d1-api-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd = self._httpd
        if httpd is not None:
            httpd.shutdown()
            httpd.close_all_connections()
            httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd = None
            self._thread = None
        with self._lock:
            self._closed = True
            databases = list(self._databases.values())
        for db in databases:
            acquired = db.lock.acquire(timeout=5)
            try:
                db.conn.close()
            finally:
                if acquired:
                    db.lock.release()

    def __enter__(self) -> D1ApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What a client uses as ``CLOUDFLARE_API_BASE_URL``."""
        return f"http://{self._host}:{self.port}{API_PREFIX}"

    def database_url(self, database_id: str) -> str:
        return f"{self.base_url}/accounts/{self.account_id}/d1/database/{database_id}"

    # -- fault knobs and request log ------------------------------------------------

    @property
    def latency(self) -> float:
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, float(seconds))

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _log_request(self, method: str, path: str, sql: str | None) -> int:
        with self._lock:
            self._requests.append(RequestRecord(method, path, sql, None))
            return len(self._requests) - 1

    def _update_record(self, index: int, **changes: Any) -> None:
        with self._lock:
            if 0 <= index < len(self._requests):
                self._requests[index] = dataclasses.replace(self._requests[index], **changes)

    def _set_request_database(self, index: int, database_id: str | None) -> None:
        if database_id is not None:
            self._update_record(index, database_id=database_id)

    def _finish_request(self, index: int, status: int | None, fault: FaultKind | None) -> None:
        self._update_record(index, status=status, fault=fault)

    # -- databases ---------------------------------------------------------------

    def create_database(self, name: str, database_id: str | None = None) -> str:
        """Create (or reopen, if its file exists) a database; returns its UUID."""
        db_id = database_id or str(uuid_module.uuid4())
        with self._lock:
            if self._closed:
                raise RuntimeError("server stopped")
            for existing in self._databases.values():
                if existing.name == name:
                    raise ValueError(f"a database named {name!r} already exists")
            if db_id in self._databases:
                raise ValueError(f"a database with id {db_id!r} already exists")
            path = self.directory / f"{db_id}.sqlite"
            snapshot_dir = self.directory / ".time_travel" / db_id
            # Versions restart at 1 for every server, so old snapshots must not be reused.
            shutil.rmtree(snapshot_dir, ignore_errors=True)
            conn = _connect(path)
            db = _Database(
                uuid=db_id,
                name=name,
                path=path,
                snapshot_dir=snapshot_dir,
                created_at=datetime.now(UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                conn=conn,
            )
            conn.set_authorizer(db.authorize)
            keep = self.snapshot_every_write
            db.history.append(
                _Version(db.version, time.time(), db.snapshot(db.version) if keep else None)
            )
            self._databases[db_id] = db
        return db_id

    def delete_database(self, database_id: str) -> None:
        """Delete a database (as ``wrangler d1 delete`` would): later requests get 404."""
        with self._lock:
            db = self._databases.pop(database_id)
        with db.lock:
            db.conn.close()

    def database_ids(self) -> dict[str, str]:
        """``{name: uuid}`` of every database."""
        with self._lock:
            return {db.name: db.uuid for db in self._databases.values()}

    def sqlite_path(self, database_id: str) -> Path:
        return self._database(database_id).path

    def version(self, database_id: str) -> int:
        """The database's current version (increases with each committed write)."""
        db = self._database(database_id)
        with db.lock:
            return db.version

    def execute_local(
        self, database_id: str, sql: str, params: Sequence[SqlValue] = ()
    ) -> list[tuple[Any, ...]]:
        """Run one statement directly (no HTTP, no D1 rules, not logged) for test
        set-up and assertions. A write commits and creates a new version."""
        db = self._database(database_id)
        with db.lock:
            # Its own connection, without a statement cache: what runs here bypasses
            # D1's rules, and a cached statement would skip them for a client later.
            local = sqlite3.connect(db.path, isolation_level=None, cached_statements=0)
            try:
                local.execute("PRAGMA foreign_keys = ON")
                local.execute("BEGIN")
                cur = local.execute(sql, tuple(params))
                rows = [tuple(row) for row in cur.fetchall()]
                local.execute("COMMIT")
                changed = local.total_changes
            except BaseException:
                if local.in_transaction:
                    local.execute("ROLLBACK")
                raise
            finally:
                local.close()
            if changed or not sql.lstrip().upper().startswith(
                ("SELECT", "WITH", "PRAGMA", "EXPLAIN", "VALUES")
            ):
                db.record_version(self.snapshot_every_write)
            return rows

    def _database(self, database_id: str) -> _Database:
        with self._lock:
            db = self._databases.get(database_id)
        if db is None:
            raise KeyError(database_id)
        return db

    # -- bookmarks ---------------------------------------------------------------

    @staticmethod
    def _bookmark(db: _Database, number: int) -> str:
        digest = hashlib.sha256(f"{db.uuid}:{number}".encode()).hexdigest()[:32]
        crc = zlib.crc32(db.uuid.encode()) & 0xFFFFFFFF
        return f"{number >> 32:08x}-{number & 0xFFFFFFFF:08x}-{crc:08x}-{digest}"

    @classmethod
    def _parse_bookmark(cls, db: _Database, bookmark: str) -> int:
        parts = bookmark.split("-")
        try:
            if len(parts) != 4:
                raise ValueError(bookmark)
            number = (int(parts[0], 16) << 32) | int(parts[1], 16)
        except ValueError:
            raise _ApiError(400, CODE_BAD_REQUEST, f"Invalid bookmark: {bookmark}") from None
        if cls._bookmark(db, number) != bookmark:
            raise _ApiError(400, CODE_BAD_REQUEST, f"Invalid bookmark: {bookmark}")
        return number

    @staticmethod
    def _parse_timestamp(value: str) -> float:
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _ApiError(400, CODE_BAD_REQUEST, f"Invalid timestamp: {value}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()

    @staticmethod
    def _version_at(db: _Database, when: float) -> _Version:
        chosen = db.history[0]
        for entry in db.history:
            if entry.at <= when:
                chosen = entry
        return chosen

    # -- HTTP dispatch -------------------------------------------------------------

    def _dispatch(
        self, method: str, raw_path: str, authorization: str | None, body: bytes
    ) -> tuple[int, JsonObject, str | None]:
        split = urlsplit(raw_path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        if path.startswith(UPLOAD_PREFIX):
            return self._import_upload(method, path[len(UPLOAD_PREFIX) :], body)
        if not path.startswith(API_PREFIX + "/"):
            raise _ApiError(404, CODE_NO_ROUTE, "No route for that URI")
        parts = [p for p in path[len(API_PREFIX) :].split("/") if p]
        if len(parts) < 4 or parts[0] != "accounts" or parts[2:4] != ["d1", "database"]:
            raise _ApiError(404, CODE_NO_ROUTE, "No route for that URI")
        self._authenticate(authorization)
        if parts[1] != self.account_id:
            raise _ApiError(
                404,
                CODE_ACCOUNT,
                "The given account is not valid or is not authorized to access this service",
            )
        rest = parts[4:]
        if not rest:
            if method == "GET":
                return 200, self._list_databases(query), None
            if method == "POST":
                return 200, self._create_via_api(body), None
            raise _ApiError(405, CODE_METHOD, "Method not allowed for this route")
        database_id = rest[0]
        action = rest[1:]
        db = self._database_by_id_or_name(database_id, by_name=not action and method == "GET")
        if not action:
            if method != "GET":
                raise _ApiError(405, CODE_METHOD, "Method not allowed for this route")
            return 200, _envelope(_only_fields(self._describe(db), query.get("fields"))), db.uuid
        if action in (["query"], ["raw"]):
            if method != "POST":
                raise _ApiError(405, CODE_METHOD, "Method not allowed for this route")
            status, payload = self._run_query(db, body, raw=action == ["raw"])
            return status, payload, db.uuid
        if action == ["import"]:
            if method != "POST":
                raise _ApiError(405, CODE_METHOD, "Method not allowed for this route")
            return 200, self._import(db, body), db.uuid
        if action == ["time_travel", "bookmark"]:
            if method != "GET":
                raise _ApiError(405, CODE_METHOD, "Method not allowed for this route")
            return 200, self._get_bookmark(db, query.get("timestamp")), db.uuid
        if action == ["time_travel", "restore"]:
            if method != "POST":
                raise _ApiError(405, CODE_METHOD, "Method not allowed for this route")
            return 200, self._restore(db, query.get("bookmark"), query.get("timestamp")), db.uuid
        raise _ApiError(404, CODE_NO_ROUTE, "No route for that URI")

    def _database_by_id_or_name(self, ident: str, *, by_name: bool) -> _Database:
        """The database whose uuid is ``ident``; for ``GET .../d1/database/{name}`` (what
        wrangler >= 4.102 asks, with ``?fields=uuid,name``, for a binding without a
        ``database_id``) also the one named ``ident``. Unknown: 404, as Cloudflare answers."""
        with self._lock:
            db = self._databases.get(ident)
            if db is None and by_name:
                db = next((d for d in self._databases.values() if d.name == ident), None)
        if db is None:
            raise _ApiError(404, CODE_NOT_FOUND, f"The database {ident} could not be found")
        return db

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise _ApiError(401, CODE_AUTH, "Authentication error")
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            credential.strip().encode(), self._token.encode()
        ):
            raise _ApiError(403, CODE_AUTH, "Authentication error")

    def _describe(self, db: _Database) -> JsonObject:
        with db.lock:
            if self._closed:
                raise _ApiError(503, CODE_INTERNAL, "server shutting down")
            size = db.size()
            tables = db.num_tables()
        return {
            "uuid": db.uuid,
            "name": db.name,
            "created_at": db.created_at,
            "version": "production",
            "num_tables": tables,
            "file_size": size,
            "read_replication": {"mode": "disabled"},
        }

    def _list_databases(self, query: dict[str, str]) -> JsonObject:
        with self._lock:
            databases = sorted(self._databases.values(), key=lambda d: d.created_at)
        name = query.get("name")
        if name:
            databases = [d for d in databases if name in d.name]
        try:
            page = max(1, int(query.get("page", "1")))
            per_page = max(1, min(10000, int(query.get("per_page", "1000"))))
        except ValueError:
            raise _ApiError(400, CODE_BAD_REQUEST, "Invalid pagination parameters") from None
        chunk = databases[(page - 1) * per_page : page * per_page]
        result = [
            {
                "uuid": d.uuid,
                "name": d.name,
                "created_at": d.created_at,
                "version": "production",
            }
            for d in chunk
        ]
        return _envelope(
            result,
            result_info={
                "page": page,
                "per_page": per_page,
                "count": len(result),
                "total_count": len(databases),
            },
        )

    def _create_via_api(self, body: bytes) -> JsonObject:
        data = _parse_json_object(body)
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise _ApiError(400, CODE_BAD_REQUEST, "A database name is required")
        try:
            db_id = self.create_database(name)
        except ValueError:
            raise _ApiError(400, CODE_EXISTS, "A database with that name already exists") from None
        return _envelope(self._describe(self._database(db_id)))

    # -- queries -------------------------------------------------------------------

    def _run_query(self, db: _Database, body: bytes, *, raw: bool) -> tuple[int, JsonObject]:
        statements = _statements_from_body(body)
        # One query at a time for the whole server: with dozens of connections, threads
        # that each run SQLite fought over the GIL at every call into it, and a request
        # cost five times the CPU it costs alone.
        with self._sql_lock, db.lock:
            if self._closed:
                raise _ApiError(503, CODE_INTERNAL, "server shutting down")
            results: list[_StatementResult] = []
            changed = False
            conn = db.conn
            conn.executescript("BEGIN IMMEDIATE")
            try:
                db.enforce = True
                for sql, params in statements:
                    results.append(self._run_statement(db, sql, params))
                    changed = changed or bool(results[-1].meta["changed_db"])
                db.enforce = False
                conn.commit()
            except sqlite3.Error as exc:
                db.enforce = False
                message = db.refusal if db.refusal else _sqlite_error_text(exc)
                db.refusal = None
                if conn.in_transaction:
                    conn.rollback()
                return 400, _envelope_error(CODE_SQL, message, result=[])
            except BaseException:
                db.enforce = False
                db.refusal = None
                if conn.in_transaction:
                    conn.rollback()
                raise
            if changed:
                db.record_version(self.snapshot_every_write)
            size_after = db.size()
        entries: list[JsonObject] = []
        for res in results:
            res.meta["size_after"] = size_after
            if raw:
                data: object = {"columns": res.columns, "rows": res.rows}
            else:
                data = [dict(zip(res.columns, row, strict=False)) for row in res.rows]
            entries.append({"results": data, "success": True, "meta": res.meta})
        return 200, _envelope(entries)

    @staticmethod
    def _run_statement(db: _Database, sql: str, params: Sequence[SqlValue]) -> _StatementResult:
        if len(sql.encode("utf-8")) > MAX_STATEMENT_BYTES:
            raise _TooBig("statement too long")
        db.wrote = False
        db.refusal = None
        conn = db.conn
        before = conn.total_changes
        prepared = db.prepared
        t0 = time.perf_counter()
        cur = conn.execute(sql, tuple(params))
        if db.prepared != prepared:  # the authorizer saw it (re)prepared: what it does now
            db.writes[sql] = db.wrote
        else:  # a cached statement: the authorizer ran when it was prepared
            db.wrote = db.writes.get(sql, False)
        fetched = cur.fetchall()
        duration = (time.perf_counter() - t0) * 1000.0
        columns = [d[0] for d in cur.description] if cur.description else []
        changes = conn.total_changes - before
        rows = [[_json_value(v) for v in row] for row in fetched]
        meta: JsonObject = {
            "served_by": "d1-api-test-server",
            "served_by_region": "TEST",
            "served_by_primary": True,
            "duration": duration,
            "changes": changes,
            "last_row_id": cur.lastrowid or 0,
            "changed_db": db.wrote,
            "size_after": 0,
            "rows_read": len(rows) if not db.wrote else max(len(rows), changes),
            "rows_written": changes,
            "timings": {"sql_duration_ms": duration},
        }
        return _StatementResult(columns, rows, meta)

    # -- time travel -----------------------------------------------------------------

    def _get_bookmark(self, db: _Database, timestamp: str | None) -> JsonObject:
        with db.lock:
            if self._closed:
                raise _ApiError(503, CODE_INTERNAL, "server shutting down")
            if timestamp is None:
                entry = db.current_snapshot()
            else:
                entry = self._version_at(db, self._parse_timestamp(timestamp))
            return _envelope({"bookmark": self._bookmark(db, entry.number)})

    def _restore(self, db: _Database, bookmark: str | None, timestamp: str | None) -> JsonObject:
        if not bookmark and not timestamp:
            raise _ApiError(400, CODE_BAD_REQUEST, "A bookmark or a timestamp is required")
        with db.lock:
            if self._closed:
                raise _ApiError(503, CODE_INTERNAL, "server shutting down")
            if bookmark:
                number = self._parse_bookmark(db, bookmark)
                target = next((e for e in db.history if e.number == number), None)
            else:
                target = self._version_at(db, self._parse_timestamp(cast(str, timestamp)))
            if target is None or target.snapshot is None or not target.snapshot.exists():
                raise _ApiError(
                    400,
                    CODE_BAD_REQUEST,
                    f"Bookmark {bookmark or timestamp} is not available for restore",
                )
            previous = db.current_snapshot()
            source = sqlite3.connect(target.snapshot)
            try:
                source.backup(db.conn)
            finally:
                source.close()
            db.conn.executescript("PRAGMA foreign_keys = ON")
            db.record_version(keep_snapshot=True)
            return _envelope(
                {
                    "bookmark": self._bookmark(db, db.version),
                    "previous_bookmark": self._bookmark(db, previous.number),
                    "message": "Database restored successfully",
                }
            )


def _parse_json_object(body: bytes) -> JsonObject:
    try:
        data = json.loads(body) if body else None
    except ValueError:
        raise _ApiError(400, CODE_BAD_REQUEST, "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _ApiError(400, CODE_BAD_REQUEST, "Request body must be a JSON object")
    return data


def _statements_from_body(body: bytes) -> list[tuple[str, list[SqlValue]]]:
    data = _parse_json_object(body)
    queries: list[tuple[str, object]] = []
    if "batch" in data:
        batch = data["batch"]
        if not isinstance(batch, list) or not batch:
            raise _ApiError(400, CODE_BAD_REQUEST, "batch must be a non-empty list")
        for item in batch:
            if not isinstance(item, dict) or not isinstance(item.get("sql"), str):
                raise _ApiError(400, CODE_BAD_REQUEST, "each batch item needs a sql string")
            queries.append((item["sql"], item.get("params")))
    else:
        sql = data.get("sql")
        if not isinstance(sql, str):
            raise _ApiError(400, CODE_BAD_REQUEST, "A sql string is required")
        queries.append((sql, data.get("params")))
    statements: list[tuple[str, list[SqlValue]]] = []
    for sql, params in queries:
        pieces = split_statements(sql)
        if params is not None and not isinstance(params, list):
            raise _ApiError(400, CODE_BAD_REQUEST, "params must be a list")
        values = [_sql_param(v) for v in (params or [])]
        if values and len(pieces) != 1:
            raise _ApiError(
                400,
                CODE_BAD_REQUEST,
                "params can only be used with a single SQL statement",
            )
        statements.extend((piece, values) for piece in pieces)
    if not statements:
        raise _ApiError(400, CODE_BAD_REQUEST, "No SQL statements to execute")
    return statements


# --------------------------------------------------------------------------- CLI


def _parse_db_option(value: str) -> tuple[str, str | None]:
    name, sep, db_id = value.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"expected NAME or NAME=UUID, got {value!r}")
    return name, (db_id if sep and db_id else None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Local stand-in for Cloudflare's D1 REST API (tests and benchmarks only)."
    )
    parser.add_argument("--dir", required=True, type=Path, help="directory for the SQLite files")
    parser.add_argument("--token", required=True, help="the Bearer token clients must send")
    parser.add_argument("--account", required=True, help="the account id in URLs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--db",
        action="append",
        default=[],
        type=_parse_db_option,
        metavar="NAME[=UUID]",
        help="database to serve (repeatable)",
    )
    parser.add_argument(
        "--db-file",
        type=Path,
        help="databases to serve, one NAME[=UUID] a line (for thousands of them)",
    )
    parser.add_argument(
        "--log",
        type=Path,
        help="on exit, write the request log here (JSON lines: method, path, database_id, status)",
    )
    parser.add_argument("--no-snapshots", action="store_true", help="snapshot only on bookmark")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the same port and files, as D1 serves each database apart "
        "(benchmarks: needs --no-snapshots, and Time Travel then stays within a process)",
    )
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    if args.workers > 1 and not args.no_snapshots:
        parser.error("--workers needs --no-snapshots")
    databases = cast(list[tuple[str, str | None]], args.db)
    if args.db_file is not None:
        lines = args.db_file.read_text(encoding="utf-8").splitlines()
        databases += [_parse_db_option(line.strip()) for line in lines if line.strip()]
    if args.workers > 1:
        return _serve_workers(args, [(n, i or str(uuid_module.uuid4())) for n, i in databases])

    server = D1ApiServer(
        args.dir,
        token=args.token,
        account_id=args.account,
        host=args.host,
        port=args.port,
        latency=args.latency,
        snapshot_every_write=not args.no_snapshots,
        verbose=args.verbose,
    )
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    with server:
        for name, db_id in databases:
            created = server.create_database(name, db_id)
            print(f"database {name} {created}", flush=True)
        print(server.base_url, flush=True)
        while not stop.wait(0.5):
            pass
    if args.log is not None:
        _write_log(args.log, server.requests)
    return 0


def _serve_workers(args: argparse.Namespace, databases: list[tuple[str, str | None]]) -> int:
    """``--workers N``: N processes accept on one listening socket and serve the same
    SQLite files (SQLite's locks keep them consistent). A process of its own per share
    of the requests, so that one database's SQL never waits for another's, as on D1.
    Each worker keeps its own request log; the first one merges them on exit."""
    listener = socket.create_server((args.host, args.port), backlog=128)
    listener.setblocking(False)  # the workers that lose the race for a connection go on
    ready_r, ready_w = os.pipe()
    children: list[int] = []
    index = 0
    for number in range(1, args.workers):
        pid = os.fork()
        if pid == 0:
            index, children = number, []
            break
        children.append(pid)
    server = D1ApiServer(
        args.dir,
        token=args.token,
        account_id=args.account,
        latency=args.latency,
        snapshot_every_write=False,
        verbose=args.verbose,
    )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda _s, _f: stop.set())
    signal.signal(signal.SIGTERM, lambda _s, _f: stop.set())
    server.start(listener)
    for name, db_id in databases:
        server.create_database(name, db_id)
    if index:
        os.write(ready_w, b".")
    else:
        for _ in children:
            os.read(ready_r, 1)
        for name, db_id in databases:
            print(f"database {name} {db_id}", flush=True)
        print(server.base_url, flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    log: Path | None = args.log
    if index:
        if log is not None:
            _write_log(log.with_name(f"{log.name}.{index}"), server.requests)
        os._exit(0)
    records = server.requests
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for number, pid in enumerate(children, 1):
        os.waitpid(pid, 0)
        if log is not None:
            part = log.with_name(f"{log.name}.{number}")
            if part.is_file():
                lines = part.read_text(encoding="utf-8").splitlines()
                records += [RequestRecord(sql=None, **json.loads(x)) for x in lines]
                part.unlink()
    if log is not None:
        _write_log(log, records)
    return 0


def _write_log(path: Path, records: Sequence[RequestRecord]) -> None:
    """The request log (never the token, never the SQL) as JSON lines, atomically."""
    keep = ("method", "path", "database_id", "status", "fault")
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps({k: getattr(record, k) for k in keep}) + "\n")
    partial.replace(path)


if __name__ == "__main__":
    sys.exit(main())
