"""`orchestrate apply --fleet`, 2,000 members x 3 pending migrations, against the D1 API
stand-in (tests/d1_api_server.py: a local stand-in for Cloudflare, NOT Cloudflare) with
20 ms of latency added to every request, and the request budget raised for the bench.

Printed, in the same run:

1. requests per member, from the server's log (targets: 2 with pending, 1 up to date);
2. wall time against the critical path ceil(members / jobs) x requests x latency
   (target <= 1.3x), for the rollout and for the up-to-date re-run;
3. peak memory (tracemalloc, the Python heap of orchestrate and the stand-in);
4. the predicted wall time at Cloudflare's real budget (1,200 requests per 5 min),
   beside wrangler's way: one `d1 migrations apply` per database, which costs at least
   a list read, the file batch and a ledger read (3 requests per member, wrangler's
   ~0.7 s start-up per call not counted).

Usage: python bench/fleet_bench.py [--members N] [--jobs N]
Exit status 1 when a target does not hold.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import WORK, report

from orchestrator.engines.ratelimit import CLOUDFLARE_LIMIT, CLOUDFLARE_WINDOW_S
from orchestrator.fleets.service import FleetRequest, apply_fleet
from orchestrator.settings import load_settings
from tests.d1_api_server import D1ApiServer
from tests.fleets.helpers import fleet_tree

LATENCY = 0.02
TOKEN = "bench-token"
ACCOUNT = "bench-account"


def prepare(members: int) -> tuple[D1ApiServer, Path]:
    base = WORK / "fleet"
    shutil.rmtree(base, ignore_errors=True)
    server = D1ApiServer(
        base / "api", token=TOKEN, account_id=ACCOUNT, snapshot_every_write=False
    ).start()
    for n in range(members):
        server.create_database(f"tenant-{n:05d}")
    extra = "[remote]\nrequests_per_5min = 100000000\n\n"
    root = fleet_tree(base / "ws", prefix="tenant-", extra=extra)
    return server, root


def rollout(server: D1ApiServer, root: Path, jobs: int) -> tuple[float, bool]:
    env = {
        "CLOUDFLARE_API_TOKEN": TOKEN,
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
        "CLOUDFLARE_API_BASE_URL": server.base_url,
    }
    request = FleetRequest(load_settings(root), "tenants", remote=True, jobs=jobs, environ=env)
    started = time.perf_counter()
    _, outcome = apply_fleet(request)
    return time.perf_counter() - started, bool(outcome)


def per_member(server: D1ApiServer) -> float:
    counts: dict[str, int] = {}
    for record in server.requests:
        if record.database_id:
            counts[record.database_id] = counts.get(record.database_id, 0) + 1
    return sum(counts.values()) / max(1, len(counts))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=32)
    args = parser.parse_args()
    tracemalloc.start()
    server, root = prepare(args.members)
    holds = True
    try:
        server.latency = LATENCY
        for phase, target in (("rollout (3 pending)", 2.0), ("re-run (up to date)", 1.0)):
            server.clear_requests()
            wall, ok = rollout(server, root, args.jobs)
            rate = per_member(server)
            critical = math.ceil(args.members / args.jobs) * target * LATENCY
            print(f"{phase}: {rate:.2f} requests per member (target {target:g})")
            report(f"{phase} wall", wall, "critical path", critical, "<= 1.3x")
            holds = holds and ok and rate <= target and wall <= 1.3 * critical
    finally:
        server.stop()
    _, peak = tracemalloc.get_traced_memory()
    print(f"peak memory (Python heap): {peak / 1e6:.1f} MB")
    requests = args.members * 2 + 1
    window = CLOUDFLARE_WINDOW_S / 60
    ours = max(0, requests - CLOUDFLARE_LIMIT) / CLOUDFLARE_LIMIT * window
    theirs = max(0, args.members * 3 - CLOUDFLARE_LIMIT) / CLOUDFLARE_LIMIT * window
    print(
        f"at Cloudflare's budget ({CLOUDFLARE_LIMIT:,} per 5 min): orchestrate about {ours:.0f} min "
        f"({requests:,} requests) | wrangler, one d1 migrations apply per database: at least "
        f"{theirs:.0f} min ({args.members * 3:,} requests)"
    )
    print("targets hold" if holds else "TARGET MISSED")
    return 0 if holds else 1


if __name__ == "__main__":
    os.environ.setdefault("WRANGLER_SEND_METRICS", "false")
    raise SystemExit(main())
