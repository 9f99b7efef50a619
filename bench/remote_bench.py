"""`orchestrate apply --all --remote`, 5 databases x 20 migrations, against the D1
API stand-in (tests/d1_api_server.py: a local stand-in for Cloudflare's D1 REST
API, NOT Cloudflare) with 50 ms of latency added to every request.

Measured in the same run:

1. orchestrate (API engine, in-process, one job per database), median of 3 runs
   on fresh databases, against the critical path: the largest, over databases,
   of (requests the protocol needs x 50 ms). On a fresh database the protocol
   needs 2 ledger reads (the read finds no ledger, a probe confirms it) +
   1 Time Travel bookmark + 1 lock/ensure/re-read batch + 20 migrations (each
   with its ledger rows) + 1 unlock = 25 requests. The count is taken from the
   server's request log and checked against that number.
   Target (DESIGN.md): <= 1.3x the critical path.
2. The strategy document's Node runner (scripts/migrate.js), replayed as HTTP
   calls against the same server: sequential, database by database; a list call
   (`SELECT filename FROM _migrations`), then per migration an apply call and a
   separate record call. Its tracking table is created beforehand, untimed (the
   document runs that once by hand). Also the variant with a list call before
   every migration. wrangler's own ~0.7 s start-up per call is NOT counted: the
   real runner would be slower still.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import WORK, report
from synth import database_id, generate

from orchestrator.services import ApplyRequest, apply_databases
from orchestrator.settings import Settings
from tests.d1_api_server import D1ApiServer

DATABASES = 5
MIGRATIONS = 20
LATENCY = 0.05
TOKEN = "bench-token"
ACCOUNT = "bench-account"
PROTOCOL = 2 + 1 + 1 + MIGRATIONS + 1  # reads, bookmark, lock, migrations, unlock


def start_server(directory: Path) -> D1ApiServer:
    """A fresh stand-in with the tree's databases (snapshots only on bookmark: cheaper)."""
    shutil.rmtree(directory, ignore_errors=True)
    server = D1ApiServer(
        directory, token=TOKEN, account_id=ACCOUNT, latency=LATENCY, snapshot_every_write=False
    ).start()
    for p in range(DATABASES):
        server.create_database(f"db{p:03d}", database_id(p))
    return server


def run_orchestrate(root: Path, server: D1ApiServer) -> tuple[float, Counter[str]]:
    """One apply; returns its wall time and the requests each database received."""
    os.environ.update(
        CLOUDFLARE_API_TOKEN=TOKEN,
        CLOUDFLARE_ACCOUNT_ID=ACCOUNT,
        CLOUDFLARE_API_BASE_URL=server.base_url,
    )
    request = ApplyRequest(Settings(root=root, concurrency=DATABASES), remote=True)
    started = time.perf_counter()
    run = apply_databases(request)
    wall = time.perf_counter() - started
    applied = sum(len(r.applied) for r in run.results)
    assert run and applied == DATABASES * MIGRATIONS, f"apply failed: {run.results}"
    per_database = Counter(r.path.split("/")[7] for r in server.requests)
    return wall, per_database


def run_document_style(root: Path, server: D1ApiServer, list_every_time: bool) -> float:
    """The strategy document's runner as HTTP calls: sequential list, apply, record."""
    for p in range(DATABASES):  # "Run once in each database": untimed set-up
        server.execute_local(
            database_id(p),
            "CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "filename TEXT UNIQUE NOT NULL, applied_at TEXT DEFAULT (datetime('now')), "
            "checksum TEXT, execution_time_ms INTEGER)",
        )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        for p in range(DATABASES):
            query = f"/accounts/{ACCOUNT}/d1/database/{database_id(p)}/query"
            files = sorted((root / "packages" / f"pkg{p:03d}" / "migrations").glob("*.sql"))
            applied = _list(client, query)
            for path in files:
                if list_every_time:
                    applied = _list(client, query)
                if path.name in applied:
                    continue
                began = time.perf_counter()
                _post(client, query, {"sql": path.read_text()})
                ms = round((time.perf_counter() - began) * 1000)
                record = "INSERT INTO _migrations (filename, execution_time_ms) VALUES (?, ?)"
                _post(client, query, {"sql": record, "params": [path.name, ms]})
    return time.perf_counter() - started


def _list(client: httpx.Client, query: str) -> set[str]:
    result = _post(client, query, {"sql": "SELECT filename FROM _migrations ORDER BY filename"})
    return {row["filename"] for row in result[0]["results"]}


def _post(client: httpx.Client, path: str, body: dict[str, object]) -> list[dict[str, object]]:
    response = client.post(path, json=body)
    response.raise_for_status()
    result: list[dict[str, object]] = response.json()["result"]
    return result


def main() -> None:
    root = WORK / "remote-5x20"
    shutil.rmtree(root, ignore_errors=True)
    generate(root, DATABASES, MIGRATIONS)
    walls, counts = [], Counter[str]()
    for attempt in range(3):
        server = start_server(WORK / f"remote-server-{attempt}")
        try:
            wall, counts = run_orchestrate(root, server)
        finally:
            server.stop()
        walls.append(wall)
    needed = max(counts.values())
    assert set(counts.values()) == {PROTOCOL}, f"requests per database: {dict(counts)}"
    critical = needed * LATENCY
    wall = statistics.median(walls)
    print(
        f"requests per database: {needed} = 2 ledger reads (fresh database) + 1 bookmark "
        f"+ 1 lock + {MIGRATIONS} migrations + 1 unlock; runs: "
        + ", ".join(f"{w:.3f} s" for w in walls)
    )
    report(
        f"apply --all --remote {DATABASES}x{MIGRATIONS} (API engine, {LATENCY * 1000:.0f} ms/request)",
        wall,
        f"critical path ({needed} requests x {LATENCY * 1000:.0f} ms)",
        critical,
        "<= 1.3x",
    )
    for every_time, label in (
        (False, "list once per database"),
        (True, "list before every migration"),
    ):
        server = start_server(WORK / "remote-server-doc")
        try:
            document = run_document_style(root, server, every_time)
        finally:
            server.stop()
        report(
            f"document-style runner ({label}, sequential)",
            document,
            "orchestrate",
            wall,
            "(for reference: how many times slower)",
        )


if __name__ == "__main__":
    main()
