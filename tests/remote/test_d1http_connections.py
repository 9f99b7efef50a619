"""D1Http keeps one keep-alive connection per job thread, against the D1 API stand-in
(``tests/d1_api_server.py``, which stands in for Cloudflare): requests reuse it, and the
connections of threads that ended (a finished stage of a fleet rollout) are closed, so a
rollout of many waves never holds more than one stage's sockets."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from orchestrator.engines.d1http import Credentials, D1Http
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import ACCOUNT, FAST, TOKEN


def test_one_connection_per_thread_and_none_left_by_ended_threads(
    api_server: D1ApiServer,
) -> None:
    db = api_server.create_database("io-db")
    http = D1Http(Credentials(ACCOUNT, api_server.base_url, TOKEN), policy=FAST)
    path = http.database_path(db)
    try:
        for _stage in range(5):
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda _: http.get(path, "io-db (details)"), range(40)))
            # This stage's threads ended; their connections close when the next one opens.
            assert (http.open_connections() or 0) <= 4
        assert http.get(path, "io-db (details)")["name"] == "io-db"  # the main thread's own
        assert http.open_connections() == 1  # every stage's threads had ended: all closed
    finally:
        http.close()
    assert http.open_connections() == 0
    # 40 requests a stage over at most 4 connections: each thread kept its own alive.
    assert api_server.request_count == 201
