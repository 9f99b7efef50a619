"""`orchestrate apply --fleet`, 2,000 members x 3 pending migrations, against the D1 API
stand-in (tests/d1_api_server.py: a local stand-in for Cloudflare, NOT Cloudflare) with
20 ms of latency added to every request, and the request budget raised for the bench.
The stand-in runs in a process of its own (bench/common.py), so its work never holds
the client's GIL.

Printed, in the same run:

1. requests per member, from the stand-in's request log (targets: 2 with pending,
   1 up to date);
2. wall time against the critical path ceil(members / jobs) x requests x latency
   (target <= 1.3x), for the rollout and for the up-to-date re-run; beside it, a bare
   client (http.client, the same number of threads, no orchestrate code) that sends the
   very requests orchestrate sends to a fresh copy of the stand-in: the wall the
   stand-in allows on this machine. The CPU seconds of client and stand-in are shown;
4. peak memory: the largest resident set of the client process and of the stand-in's;
5. the predicted wall time at Cloudflare's real budget (1,200 requests per 5 min),
   beside wrangler's way: one `d1 migrations apply` per database, which costs at least
   a list read, the file batch and a ledger read (3 requests per member, wrangler's
   ~0.7 s start-up per call not counted).

Usage: python bench/fleet_bench.py [--members N] [--jobs N] [--workers N]
Exit status 1 when a target does not hold.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import resource
import shutil
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import WORK, StandIn, finish, report, start_stand_in

from orchestrator.discovery.sources import read_source
from orchestrator.engines import Batch
from orchestrator.engines.ledger import LedgerNames
from orchestrator.engines.ratelimit import CLOUDFLARE_LIMIT, CLOUDFLARE_WINDOW_S
from orchestrator.engines.remote import bound_params, remote_text
from orchestrator.fleets.model import Member, MemberState
from orchestrator.fleets.planning import Estimate, estimate
from orchestrator.fleets.service import FleetRequest, apply_fleet
from orchestrator.fleets.sql import plan_writes, read_batch
from orchestrator.schema.target import WRANGLER_DEFAULT_TABLE
from orchestrator.settings import load_settings
from tests.fleets.helpers import fleet_tree

LATENCY = 0.02
TOKEN = "bench-token"
ACCOUNT = "bench-account"
PREFIX = "tenant-"


@dataclass
class Phase:
    name: str
    target: float  # requests per member
    wall: float = 0.0
    rate: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    bare: float = 0.0
    bare_cpu: float = 0.0


def names(members: int) -> list[tuple[str, str | None]]:
    return [(f"{PREFIX}{n:05d}", None) for n in range(members)]


def rollout(server: StandIn, root: Path, jobs: int) -> tuple[float, float, float, bool]:
    """One ``apply --fleet tenants --remote``: wall, client CPU, stand-in CPU, success."""
    env = {
        "CLOUDFLARE_API_TOKEN": TOKEN,
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
        "CLOUDFLARE_API_BASE_URL": server.base_url,
    }
    request = FleetRequest(load_settings(root), "tenants", remote=True, jobs=jobs, environ=env)
    cpu, served = time.process_time(), server.cpu_seconds()
    started = time.perf_counter()
    _, outcome = apply_fleet(request)
    wall = time.perf_counter() - started
    return wall, time.process_time() - cpu, server.cpu_seconds() - served, bool(outcome)


def per_member(records: list[dict[str, Any]]) -> float:
    counts = Counter(r["database_id"] for r in records if r.get("database_id"))
    return sum(counts.values()) / max(1, len(counts))


def bodies(root: Path) -> tuple[bytes, bytes]:
    """The read and the write orchestrate sends a fresh member, as JSON (the same SQL and
    parameters; the write's start time aside)."""
    table = load_settings(root).ledger_table
    ledger = LedgerNames(table, (WRANGLER_DEFAULT_TABLE,))
    migrations = read_source(root, "packages/tenant-db/migrations", "packages/tenant-db")
    fresh = MemberState(Member("x", "x"), (), None, "0:|0")
    write = plan_writes(
        ledger,
        fresh,
        migrations.migrations,
        "2026-01-01T00:00:00Z",
        "tenants",
        (WRANGLER_DEFAULT_TABLE,),
    )
    assert len(write) == 1
    return _json(read_batch(ledger)), _json(write[0].batch)


def _json(batch: Batch) -> bytes:
    items = [{"sql": remote_text(s), "params": bound_params(s)} for s in batch.statements]
    return json.dumps({"batch": items}).encode()


def bare_client(server: StandIn, jobs: int, steps: tuple[bytes, ...]) -> tuple[float, float, float]:
    """Send ``steps`` to every member, member after member on each of ``jobs`` threads,
    with http.client (one keep-alive connection per thread): wall, CPU, stand-in CPU."""
    url = urlsplit(server.base_url)
    local = threading.local()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def one(database_id: str) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(url.hostname, url.port)
        path = f"{url.path}/accounts/{ACCOUNT}/d1/database/{database_id}/query"
        for body in steps:
            connection.request("POST", path, body, headers)
            answer = connection.getresponse()
            envelope = json.loads(answer.read())
            assert envelope["success"], envelope["errors"]

    ids = list(server.ids.values())
    cpu, served = time.process_time(), server.cpu_seconds()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, ids))
    wall = time.perf_counter() - started
    return wall, time.process_time() - cpu, server.cpu_seconds() - served


def measure(members: int, jobs: int, workers: int) -> tuple[list[Phase], float]:
    base = WORK / "fleet"
    shutil.rmtree(base, ignore_errors=True)
    extra = "[remote]\nrequests_per_5min = 100000000\n\n"
    root = fleet_tree(base / "ws", prefix=PREFIX, extra=extra)
    phases = [Phase("rollout (3 pending)", 2.0), Phase("re-run (up to date)", 1.0)]
    peak_server = 0.0
    ids: dict[str, str] = {}
    for phase in phases:
        # A stand-in per phase over the same SQLite files: its log is the phase's requests.
        server = _start(base / "api", names(members), phase is phases[0], ids, workers)
        try:
            ids = server.ids
            phase.wall, phase.client_cpu, phase.server_cpu, ok = rollout(server, root, jobs)
            assert ok, f"{phase.name} failed"
            peak_server = max(peak_server, server.peak_rss_mb())
        finally:
            phase.rate = per_member(server.stop())
    read, write = bodies(root)
    for phase, steps in zip(phases, ((read, write), (read,)), strict=True):
        server = _start(base / "bare", names(members), phase is phases[0], ids, workers)
        try:
            phase.bare, phase.bare_cpu, _ = bare_client(server, jobs, steps)
        finally:
            server.stop()
    return phases, peak_server


def _start(
    directory: Path,
    databases: list[tuple[str, str | None]],
    fresh: bool,
    ids: dict[str, str],
    workers: int,
) -> StandIn:
    if ids:  # the same uuids again: the stand-in reopens their files
        databases = [(name, ids[name]) for name, _ in databases]
    return start_stand_in(
        directory,
        databases,
        token=TOKEN,
        account=ACCOUNT,
        latency=LATENCY,
        fresh=fresh,
        workers=workers,
    )


def budget_line(members: int) -> str:
    """Predicted wall at Cloudflare's budget (its first window free, as the run's estimate
    counts), orchestrate's requests beside wrangler's way."""
    window = CLOUDFLARE_WINDOW_S / 60
    ours = estimate(members, members, 1, CLOUDFLARE_LIMIT, CLOUDFLARE_WINDOW_S)
    theirs = Estimate(members, members * 3, CLOUDFLARE_LIMIT, CLOUDFLARE_WINDOW_S)
    return (
        f"at Cloudflare's budget ({CLOUDFLARE_LIMIT:,} requests per {window:g} min): orchestrate "
        f"{ours.requests:,} requests, about {ours.seconds / 60:g} min (printed before the run: "
        f"{ours.describe()}) | wrangler, one d1 migrations apply per database: at least "
        f"{theirs.requests:,} requests, about {theirs.seconds / 60:g} min"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=32)
    # One process: on 2 cores a second stand-in process takes the client's core.
    parser.add_argument("--workers", type=int, default=1, help="stand-in processes")
    args = parser.parse_args()
    phases, peak_server = measure(args.members, args.jobs, args.workers)
    held = []
    for phase in phases:
        critical = math.ceil(args.members / args.jobs) * phase.target * LATENCY
        print(f"{phase.name}: {phase.rate:.2f} requests per member (target {phase.target:g})")
        held.append(phase.rate <= phase.target)
        ok = phase.wall <= 1.3 * critical
        held.append(
            report(f"{phase.name} wall", phase.wall, "critical path", critical, "<= 1.3x", ok)
        )
        report(
            "  the stand-in's floor: a bare client, the same requests",
            phase.bare,
            "critical path",
            critical,
            "(reference)",
        )
        print(
            f"  CPU: orchestrate {phase.client_cpu:.2f} s, stand-in {phase.server_cpu:.2f} s "
            f"while serving it; bare client {phase.bare_cpu:.2f} s; orchestrate's wall is "
            f"{phase.wall / phase.bare:.2f}x the bare client's"
        )
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (resident): client {client_peak:.0f} MB, stand-in {peak_server:.0f} MB")
    print(budget_line(args.members))
    return finish(held)


if __name__ == "__main__":
    os.environ.setdefault("WRANGLER_SEND_METRICS", "false")
    raise SystemExit(main())
