"""Fixtures for the remote engines. The HTTP server used here is
``tests/d1_api_server.py``, a local stand-in for Cloudflare's D1 REST API
(Cloudflare cannot be reached from these machines): real HTTP, real SQLite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrator.engines.api import ApiEngine
from orchestrator.engines.d1http import Credentials, D1Http
from orchestrator.engines.ratelimit import RateBudget, RetryPolicy
from tests.conftest import toml_binding, write_tree
from tests.d1_api_server import D1ApiServer, RequestRecord

TOKEN = "tok-S3CRET-4b1d9f7e2c"  # distinctive, so a leak is easy to find
ACCOUNT = "acc-test"
FAST = RetryPolicy(attempts=5, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[D1ApiServer]:
    """The D1 API stand-in (not Cloudflare), on a free port, with SQLite files under tmp_path."""
    with D1ApiServer(tmp_path / "d1-api", token=TOKEN, account_id=ACCOUNT) as server:
        yield server


@pytest.fixture
def remote_env(monkeypatch: pytest.MonkeyPatch, api_server: D1ApiServer) -> D1ApiServer:
    """Credentials and base URL in the environment, as wrangler names them."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", api_server.base_url)
    monkeypatch.setenv("WRANGLER_SEND_METRICS", "false")
    return api_server


def api_engine(
    server: D1ApiServer,
    *,
    token: str = TOKEN,
    budget: RateBudget | None = None,
    policy: RetryPolicy = FAST,
    read_timeout: float = 5.0,
) -> ApiEngine:
    """An API engine pointed at the stand-in, with quick retries for tests."""
    credentials = Credentials(ACCOUNT, server.base_url, token)
    timeout = httpx.Timeout(read_timeout, connect=2.0)
    return ApiEngine(D1Http(credentials, budget=budget, policy=policy, timeout=timeout))


def db_id(n: int) -> str:
    """A stable database id for the n-th test database."""
    return f"00000000-0000-4000-8000-{n:012d}"


def small_tree(root: Path, databases: int = 1, migrations: int = 3) -> Path:
    """``databases`` packages, each binding its own database ``db<n>`` with simple migrations."""
    files: dict[str, str | bytes] = {"package.json": '{"name": "mono", "private": true}\n'}
    for d in range(databases):
        pkg = f"packages/p{d}"
        files[f"{pkg}/wrangler.toml"] = toml_binding(f"db{d}", db_id(d))
        for m in range(1, migrations + 1):
            files[f"{pkg}/migrations/{m:04d}_t{m}.sql"] = (
                f"CREATE TABLE IF NOT EXISTS t{m} (id INTEGER PRIMARY KEY, note TEXT);\n"
                f"INSERT INTO t{m} (note) VALUES ('it''s {m}; fine');\n"
            )
    return write_tree(root, files)


def serve_tree(server: D1ApiServer, databases: int) -> None:
    """Create the tree's databases on the stand-in, under their config ids."""
    for d in range(databases):
        server.create_database(f"db{d}", db_id(d))


def settled(server: D1ApiServer, timeout: float = 2.0) -> list[RequestRecord]:
    """The request log once every request is finished: the server records a status
    just after the client has its answer, so a test may look a moment too early."""
    deadline = time.monotonic() + timeout
    while True:
        records = server.requests
        if all(r.status is not None or r.fault is not None for r in records):
            return records
        if time.monotonic() > deadline:
            raise AssertionError(f"requests still running: {records}")
        time.sleep(0.01)
