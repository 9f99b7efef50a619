"""The Cloudflare D1 REST API over httpx: credentials, retries and the rate budget.

- Retry-safe calls (reads, the lock and unlock batches) are retried on 429
  (after its ``retry-after``), 5xx, timeouts and dropped connections, with capped,
  jittered exponential backoff.
- A write whose outcome is unknown (sent, then no answer or a 5xx) raises
  ``OutcomeUnknown`` and is never resent here: the runner reads the ledger first.
- 401/403 raise ``AuthError`` naming the D1 permission the call needs.
- The token lives only in the ``Authorization`` header (httpx prints it as
  ``[secure]``); every message built here is scrubbed of it anyway.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from orchestrator import __version__
from orchestrator.engines.ratelimit import RateBudget, RetryPolicy
from orchestrator.engines.remote import clean_message, is_sql_error
from orchestrator.errors import (
    AuthError,
    BatchError,
    NotFound,
    OutcomeUnknown,
    TargetError,
    UsageError,
)

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
D1_READ = "D1 Read"
D1_EDIT = "D1 Edit"
# D1 stops a request after 30 s; past that, silence means the answer was lost.
DEFAULT_TIMEOUT = httpx.Timeout(35.0, connect=10.0)
# The whole answer must arrive within this, however it trickles (the timeout above is per read).
DEFAULT_DEADLINE = 60.0
# Waits of at least this long are shown (Retry-After, backoff), not only logged.
SHOWN_WAIT_S = 1.0
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Refused before anything left this machine, and no retry will change that.
_CANNOT_SEND = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)

log = logging.getLogger("orchestrator.d1api")


@dataclass(frozen=True)
class Credentials:
    """Where the API is and who we are; ``repr`` never shows the token."""

    account_id: str
    base_url: str
    token: str = field(repr=False)
    token_env: str = "CLOUDFLARE_API_TOKEN"  # noqa: S105 - the variable name, not a secret


def credentials_from(remote: Mapping[str, Any], environ: Mapping[str, str]) -> Credentials:
    """Read credentials from the environment variables ``[remote]`` names (wrangler's by default)."""
    token_env = str(remote.get("api_token_env", "CLOUDFLARE_API_TOKEN"))
    account_env = str(remote.get("account_id_env", "CLOUDFLARE_ACCOUNT_ID"))
    token = environ.get(token_env, "")
    account = environ.get(account_env, "").strip()
    if not token:
        raise UsageError(
            f"the api engine needs an API token in ${token_env}",
            hint="create one with the D1 Edit permission, or use --engine wrangler (wrangler login)",
        )
    if not _TOKEN_RE.fullmatch(token):
        raise UsageError(f"${token_env} holds characters an API token cannot have")
    if not account:
        raise UsageError(
            f"the api engine needs the account id in ${account_env}",
            hint="`wrangler whoami` prints it",
        )
    base = environ.get("CLOUDFLARE_API_BASE_URL") or str(remote.get("base_url", DEFAULT_BASE_URL))
    if not base.startswith(("https://", "http://")):
        raise UsageError(f"the D1 API base URL must start with https:// (got {base!r})")
    return Credentials(account, base.rstrip("/"), token, token_env)


@dataclass(frozen=True)
class _Retry:
    reason: str
    delay: float | None = None


class D1Http:
    """One client per run, shared by every database (it is thread-safe)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        budget: RateBudget | None = None,
        policy: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        deadline: float = DEFAULT_DEADLINE,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.deadline = deadline
        self._notice = notice or _to_stderr
        self.budget = budget or RateBudget()
        if self.budget.on_wait is None:
            self.budget.on_wait = self._budget_wait
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._clock = _DeadlineClock()
        if transport is None and not urllib.request.getproxies():
            # Every socket read and write waits at most until the overall deadline, so a
            # status line or headers that trickle in end there too (httpx's timeouts are
            # per read). With a proxy from the environment httpx's own transport is kept,
            # and only the body is held to the deadline.
            transport = _DeadlineTransport(self._clock)
        self._client = httpx.Client(
            base_url=credentials.base_url,
            headers={
                "Authorization": f"Bearer {credentials.token}",
                "User-Agent": f"orchestrate/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"D1Http(base_url={self.credentials.base_url!r}, account={self.credentials.account_id!r})"

    def database_path(self, database_id: str, *rest: str) -> str:
        """``/accounts/{account}/d1/database/{id}/...``"""
        return "/".join(
            ("/accounts", self.credentials.account_id, "d1/database", database_id, *rest)
        )

    def get(self, path: str, what: str) -> Any:
        """A read (always retry-safe); returns the envelope's ``result``."""
        return self.call("GET", path, None, retry_safe=True, permission=D1_READ, what=what)

    def call(
        self, method: str, path: str, body: Any, *, retry_safe: bool, permission: str, what: str
    ) -> Any:
        """Send one API call, retrying what may be retried; returns the envelope's ``result``.

        All the waiting one call does (Retry-After, backoff) is capped at the policy's
        ``max_retry_after`` in total, and a wait of a second or more is shown.
        """
        last = ""
        waited = 0.0
        cap = self.policy.max_retry_after
        for attempt in range(1, self.policy.attempts + 1):
            self.budget.acquire()
            outcome = self._attempt(method, path, body, retry_safe, permission, what)
            if not isinstance(outcome, _Retry):
                return outcome
            last = outcome.reason
            if attempt < self.policy.attempts:
                delay = outcome.delay or self.policy.backoff(attempt, self._rng)
                if waited + delay > cap:
                    raise TargetError(
                        f"{what}: {last}; the API asks to wait {delay:g} s, beyond the "
                        f"{cap:g} s one call waits in all",
                        hint="try again later",
                    )
                waited += delay
                log.info("%s: %s; retry %d in %.2f s", what, last, attempt, delay)
                if delay >= SHOWN_WAIT_S:
                    self._notice(f"{what}: {last}; waiting {delay:.0f} s before retrying")
                self._sleep(delay)
        raise TargetError(f"{what}: gave up after {self.policy.attempts} attempts: {last}")

    def _budget_wait(self, seconds: float, paused: bool) -> None:
        if paused:  # a 429's retry-after: the call that got it has already said so
            return
        budget = self.budget
        self._notice(
            f"waiting {seconds:.0f} s for the request budget "
            f"({budget.limit:,} requests per {budget.window:g} s per token)"
        )

    def open_connections(self) -> int | None:
        """Connections held open now (None with a transport given from outside)."""
        pool = getattr(self._client._transport, "_pool", None)
        return pool.open_connections() if isinstance(pool, _ThreadConnections) else None

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _attempt(
        self, method: str, path: str, body: Any, retry_safe: bool, permission: str, what: str
    ) -> Any:
        try:
            response = self._send(method, path, body)
        except _NOT_SENT as exc:
            return _Retry(self._describe(exc))
        except _CANNOT_SEND as exc:
            raise TargetError(f"{what}: {self._describe(exc)}") from None
        except httpx.TransportError as exc:
            if not retry_safe:
                raise OutcomeUnknown(
                    f"{what}: {self._describe(exc)} after the request was sent"
                ) from None
            return _Retry(self._describe(exc))
        except httpx.HTTPError as exc:  # an answer we cannot read (decoding, redirects)
            raise TargetError(f"{what}: {self._describe(exc)}") from None
        log.debug("%s %s -> HTTP %d", method, path, response.status_code)
        return self._outcome(response, retry_safe, permission, what)

    def _send(self, method: str, path: str, body: Any) -> httpx.Response:
        """The request and its whole answer, within the overall deadline (a trickling
        status line, headers or body that would take minutes is a timeout, like silence)."""
        deadline = time.monotonic() + self.deadline
        self._clock.at = deadline
        try:
            with self._client.stream(method, path, json=body) as streamed:
                chunks = []
                for chunk in streamed.iter_raw():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise self._late()
                raw = b"".join(chunks)
        except httpx.TimeoutException as exc:
            if time.monotonic() >= deadline and not isinstance(exc, _NOT_SENT):
                raise self._late() from None
            raise
        finally:
            self._clock.at = None
        return httpx.Response(
            streamed.status_code, headers=streamed.headers, content=raw, request=streamed.request
        )

    def _late(self) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(f"the answer did not arrive whole within {self.deadline:g} s")

    def _outcome(
        self, response: httpx.Response, retry_safe: bool, permission: str, what: str
    ) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise AuthError(
                self._auth_message(status, permission, what),
                hint="Cloudflare dashboard > My Profile > API Tokens: edit the token's permissions",
            )
        if status == 429:
            delay = _retry_after(
                response, float("inf")
            )  # the whole call's cap is checked in call()
            self.budget.pause(min(delay or 0.0, self.policy.max_retry_after))
            return _Retry("HTTP 429 (rate limited)", delay)
        if status >= 500:
            if not retry_safe:
                raise OutcomeUnknown(
                    f"{what}: HTTP {status} from the API after the request was sent"
                )
            return _Retry(f"HTTP {status}")
        if response.is_redirect:
            location = self._scrub(response.headers.get("location") or "nowhere")
            raise TargetError(
                f"{what}: the API answered a redirect (HTTP {status} to {location}), not D1's answer",
                hint="check CLOUDFLARE_API_BASE_URL (a proxy or login page in between?)",
            )
        return self._result(response, what, retry_safe)

    def _result(self, response: httpx.Response, what: str, retry_safe: bool = True) -> Any:
        status = response.status_code
        try:
            envelope = response.json()
        except ValueError:
            if response.is_success and not retry_safe:
                # A write answered with something unreadable may well have committed.
                raise OutcomeUnknown(
                    f"{what}: unreadable answer (HTTP {status}) to a write; its outcome is unknown"
                ) from None
            raise TargetError(f"{what}: malformed response (HTTP {status}, not JSON)") from None
        if response.is_success and isinstance(envelope, dict) and envelope.get("success") is True:
            return envelope.get("result")
        detail = _error_text(envelope)
        if detail and is_sql_error(detail):
            raise BatchError(clean_message(self._scrub(detail)))
        shape = _envelope_shape(envelope)
        if response.is_success and not detail and shape:
            if not retry_safe:  # a 2xx answer to a write that says neither yes nor no
                raise OutcomeUnknown(
                    f"{what}: the answer to a write (HTTP {status}) has the wrong shape "
                    f"({shape}); its outcome is unknown"
                )
            raise TargetError(f"{what}: the answer (HTTP {status}) has the wrong shape: {shape}")
        if not detail:
            detail = "no error message" if isinstance(envelope, dict) else "not an API envelope"
        error = NotFound if status == 404 else TargetError
        raise error(
            f"{what}: the API answered HTTP {status} without success: {self._scrub(detail)}"
        )

    def _auth_message(self, status: int, permission: str, what: str) -> str:
        creds = self.credentials
        return (
            f"{what}: the API refused the token in ${creds.token_env} (HTTP {status}); "
            f"it needs the {permission} permission on account {creds.account_id}"
        )

    def _describe(self, exc: Exception) -> str:
        text = str(exc) or "no details"
        return self._scrub(f"{type(exc).__name__}: {text}")

    def _scrub(self, text: str) -> str:
        return text.replace(self.credentials.token, "***")


class _DeadlineClock(threading.local):
    """The deadline of the request this thread is sending (None between requests)."""

    at: float | None = None

    def remaining(
        self, timeout: float | None, late: type[Exception] = httpcore.ReadTimeout
    ) -> float | None:
        """``timeout``, shortened to what is left before the deadline; past it, ``late``."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise late("the overall deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most until the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, clock: _DeadlineClock) -> None:
        self._inner = inner
        self._clock = clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._clock.remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._clock.remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wait = self._clock.remaining(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, wait), self._clock
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, each wrapped in a ``_DeadlineStream``."""

    def __init__(self, clock: _DeadlineClock) -> None:
        self._inner = httpcore.SyncBackend()
        self._clock = clock

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = self._clock.remaining(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, wait, local_address, socket_options)
        return _DeadlineStream(stream, self._clock)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, self._clock.remaining(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream, self._clock)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport on the deadline backend, with one keep-alive connection per thread."""

    def __init__(self, clock: _DeadlineClock) -> None:
        # httpx's own __init__ is skipped on purpose: it builds a pool and a TLS context
        # (~30 ms of certificate loading) that would be thrown away at once.
        self._pool = _ThreadConnections(_DeadlineBackend(clock))  # type: ignore[assignment]


class _ThreadConnections:
    """httpcore's pool interface (``handle_request``, ``close``) over one keep-alive
    connection per thread and origin.

    httpcore's pool scans every connection it holds, with a poll of each socket, for
    every request and again when the answer is closed: with 32 jobs that scan cost more
    CPU than the request itself. Each job thread here sends its requests one after the
    other, so its own connection is always the free one. The TLS context (certificate
    loading, ~30 ms) is built once, when the first https connection is opened.
    """

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._open: list[tuple[threading.Thread, httpcore.HTTPConnection]] = []

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        mine: dict[tuple[bytes, bytes, int], httpcore.HTTPConnection] = (
            self._local.__dict__.setdefault("connections", {})
        )
        if request.url.scheme not in (b"http", b"https"):  # as httpcore's pool refuses them
            scheme = request.url.scheme.decode("ascii", "replace") or "no scheme"
            raise httpcore.UnsupportedProtocol(f"{scheme}: the API needs https:// (or http://)")
        origin = request.url.origin
        key = (origin.scheme, origin.host, origin.port)
        for _ in range(2):
            connection = mine.get(key)
            if connection is None or connection.is_closed() or connection.has_expired():
                if connection is not None:
                    connection.close()
                connection = mine[key] = self._connect(origin)
            try:
                return connection.handle_request(request)
            except httpcore.ConnectionNotAvailable:  # closed under us: once more, anew
                connection.close()
                del mine[key]
        raise httpcore.ConnectError("no connection could be made available")

    def _connect(self, origin: httpcore.Origin) -> httpcore.HTTPConnection:
        with self._lock:
            if origin.scheme == b"https" and self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            connection = httpcore.HTTPConnection(
                origin=origin,
                ssl_context=self._ssl,
                keepalive_expiry=5.0,
                network_backend=self._backend,
            )
            # A stage's job threads end with the stage: their connections end here, so a
            # rollout of many waves never holds more than one stage's sockets open.
            ended = [c for t, c in self._open if not t.is_alive()]
            self._open = [(t, c) for t, c in self._open if t.is_alive() and not c.is_closed()]
            self._open.append((threading.current_thread(), connection))
        for old in ended:
            old.close()
        return connection

    def open_connections(self) -> int:
        """How many connections this transport holds (closed ones are not counted)."""
        with self._lock:
            return sum(1 for _, c in self._open if not c.is_closed())

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for _, connection in connections:
            connection.close()

    def __enter__(self) -> _ThreadConnections:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _to_stderr(text: str) -> None:
    """Shown waits go to stderr, beside the progress lines."""
    sys.stderr.write(f"{text}\n")


def _envelope_shape(envelope: Any) -> str:
    """What makes an envelope unreadable: not an object, or no boolean ``success``."""
    if not isinstance(envelope, dict):
        return "not an API envelope (a JSON object)"
    if not isinstance(envelope.get("success"), bool):
        return "no success field" if "success" not in envelope else "success is not true or false"
    return ""


def _error_text(envelope: Any) -> str:
    """The envelope's error messages, whatever shape ``errors`` has (list of objects, strings, a string)."""
    if not isinstance(envelope, dict):
        return ""
    errors = envelope.get("errors") or []
    if not isinstance(errors, list):
        errors = [errors]
    texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
    return "; ".join(t for t in texts if t)


def _retry_after(response: httpx.Response, cap: float) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), capped; None when absent."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(cap, max(0.0, seconds))
