"""`orchestrate apply --all --remote`, 5 databases x 20 migrations, against the D1
API stand-in (tests/d1_api_server.py: a local stand-in for Cloudflare's D1 REST
API, NOT Cloudflare) with 50 ms of latency added to every request.

Measured in the same run:

1. orchestrate (API engine, in-process, one job per database, the default
   ``--batch database``), median of 3 runs on fresh databases, against the
   critical path: the largest, over databases, of (requests sent x 50 ms). On a
   fresh database that is 1 ledger read (apply's read creates the missing ledgers
   in the same request) + 1 guarded write carrying all 20 migrations and their
   ledger rows = 2 requests: no bookmark (the undo restores by the run's start time),
   no lock or unlock (the write's compare-and-swap guards it). The count is
   taken from the server's request log.
   Targets (DESIGN.md): requests per database <= migrations + 2, and wall
   <= 1.3x the critical path. The script exits 1 when either is missed.
   ``--batch per-migration`` (each migration its own commit) is measured too,
   for reference: 25 requests per database.
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

from common import WORK, StandIn, report, start_stand_in
from synth import database_id, generate

from orchestrator.services import ApplyRequest, apply_databases
from orchestrator.settings import Settings
from tests.d1_api_server import D1ApiServer

DATABASES = 5
MIGRATIONS = 20
LATENCY = 0.05
TOKEN = "bench-token"
ACCOUNT = "bench-account"
PROTOCOL = 1 + 1  # the read that creates the ledgers, one write
# Stand-in processes sharing its port and files. D1 runs each database apart; one Python
# process ran the five 20-table writes one after the other (~6.5 ms each, the GIL).
WORKERS = 2
PER_MIGRATION = 2 + 1 + 1 + MIGRATIONS + 1  # reads, bookmark, lock, migrations, unlock


def start_server(directory: Path) -> D1ApiServer:
    """A fresh stand-in with the tree's databases (snapshots only on bookmark: cheaper)."""
    shutil.rmtree(directory, ignore_errors=True)
    server = D1ApiServer(
        directory, token=TOKEN, account_id=ACCOUNT, latency=LATENCY, snapshot_every_write=False
    ).start()
    for p in range(DATABASES):
        server.create_database(f"db{p:03d}", database_id(p))
    return server


def start_process_server(directory: Path) -> StandIn:
    """The same stand-in in a process of its own (no GIL shared with the client)."""
    databases = [(f"db{p:03d}", database_id(p)) for p in range(DATABASES)]
    return start_stand_in(
        directory,
        databases,
        token=TOKEN,
        account=ACCOUNT,
        latency=LATENCY,
        workers=WORKERS,
    )


def run_orchestrate(root: Path, base_url: str, batch: str = "database") -> tuple[float, float]:
    """One apply; returns the client's start-up time (the HTTP client and its TLS
    context, made once per run) and the wall time of the apply itself."""
    os.environ.update(
        CLOUDFLARE_API_TOKEN=TOKEN,
        CLOUDFLARE_ACCOUNT_ID=ACCOUNT,
        CLOUDFLARE_API_BASE_URL=base_url,
    )
    request = ApplyRequest(Settings(root=root, concurrency=DATABASES), remote=True, batch=batch)
    began = time.perf_counter()
    engine = request.make_engine()
    started = time.perf_counter()
    run = apply_databases(request, engine=engine)
    wall = time.perf_counter() - started
    applied = sum(len(r.applied) for r in run.results)
    assert run and applied == DATABASES * MIGRATIONS, f"apply failed: {run.results}"
    return started - began, wall


def count_requests(root: Path, batch: str) -> Counter[str]:
    """The requests each database receives, from the in-process stand-in's log."""
    server = start_server(WORK / f"remote-server-count-{batch}")
    try:
        run_orchestrate(root, server.base_url, batch)
        return Counter(r.path.split("/")[7] for r in server.requests)
    finally:
        server.stop()


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
    counts = count_requests(root, "database")
    walls, startups = [], []
    cpus: list[tuple[float, float]] = []
    for attempt in range(3):
        server = start_process_server(WORK / f"remote-server-{attempt}")
        try:
            cpu, served = time.process_time(), server.cpu_seconds()
            startup, wall = run_orchestrate(root, server.base_url)
            cpus.append((time.process_time() - cpu, server.cpu_seconds() - served))
        finally:
            server.stop()
        walls.append(wall)
        startups.append(startup)
    needed = max(counts.values())
    critical = needed * LATENCY
    wall = statistics.median(walls)
    print(
        f"requests per database: {dict(sorted(counts.items()))} (expected {PROTOCOL} = 1 ledger "
        f"read that creates the ledgers + 1 write of {MIGRATIONS} migrations); runs: "
        + ", ".join(f"{w:.3f} s" for w in walls)
        + f"; the client's start-up (HTTP client, TLS context), not in the wall: "
        f"{statistics.median(startups):.3f} s; the stand-in runs in {WORKERS} processes of its "
        "own; CPU per run (client, the stand-in's first process): "
        + ", ".join(f"{c:.3f} s + {d:.3f} s" for c, d in cpus)
    )
    report(
        f"apply --all --remote {DATABASES}x{MIGRATIONS} (API engine, {LATENCY * 1000:.0f} ms/request)",
        wall,
        f"critical path ({needed} requests x {LATENCY * 1000:.0f} ms)",
        critical,
        "<= 1.3x",
    )
    missed = []
    if needed > MIGRATIONS + 2:
        missed.append(f"requests per database {needed} > migrations + 2 = {MIGRATIONS + 2}")
    if wall > 1.3 * critical:
        missed.append(f"wall {wall:.3f} s > 1.3x the critical path {critical:.3f} s")
    each_counts = count_requests(root, "per-migration")
    server = start_process_server(WORK / "remote-server-per-migration")
    try:
        _, each = run_orchestrate(root, server.base_url, "per-migration")
    finally:
        server.stop()
    report(
        f"--batch per-migration (each migration its own commit; {max(each_counts.values())} "
        "requests per database)",
        each,
        "--batch database",
        wall,
        "(for reference)",
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
    for line in missed:
        print(f"TARGET MISSED: {line}")
    if missed:
        raise SystemExit(1)
    print("targets hold: requests per database <= migrations + 2, wall <= 1.3x critical path")


if __name__ == "__main__":
    main()
