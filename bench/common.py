"""Helpers shared by the benchmarks: timing and a figure line."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"


def best_of(runs: int, action: Callable[[], object]) -> float:
    """Median wall time of ``runs`` calls, in seconds (median: these machines are noisy)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_command(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a command (no shell), failing loudly if it fails."""
    result = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, check=False)
    if result.returncode not in (0, 1):
        sys.stderr.write(result.stderr.decode(errors="replace"))
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}")
    return result


def report(
    what: str,
    measured: float,
    reference_name: str,
    reference: float,
    target: str,
    holds: bool | None = None,
) -> bool:
    """Print the figure beside its same-run reference, the ratio and the target; with
    ``holds`` given, HOLDS or MISSED after it. Returns ``holds`` (True when not given)."""
    ratio = measured / reference if reference else float("inf")
    verdict = "" if holds is None else (" | HOLDS" if holds else " | MISSED")
    print(
        f"{what}: {measured:.3f} s | {reference_name}: {reference:.3f} s | ratio {ratio:.2f}x "
        f"| target {target}{verdict}"
    )
    return True if holds is None else holds


def load() -> str:
    """The machine's load averages (benchmarks share it with other work): say them."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load: unknown"
    return f"load average: {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def finish(held: Sequence[bool]) -> int:
    """The exit code: 0 when every target held, 1 otherwise (printed as well)."""
    print(load())
    print("target holds" if all(held) else "TARGET MISSED")
    return 0 if all(held) else 1


@dataclass
class StandIn:
    """The D1 API stand-in (tests/d1_api_server.py: a local stand-in for Cloudflare,
    NOT Cloudflare) in a process of its own, so that its work never holds the
    client's GIL; ``stop`` returns its request log."""

    process: subprocess.Popen[str]
    base_url: str
    ids: dict[str, str]
    log: Path
    records: list[dict[str, Any]] = field(default_factory=list)

    def stop(self) -> list[dict[str, Any]]:
        """End the process (SIGTERM) and read the requests it served."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        if self.log.is_file():
            lines = self.log.read_text(encoding="utf-8").splitlines()
            self.records = [json.loads(line) for line in lines]
        return self.records

    def peak_rss_mb(self) -> float:
        """The stand-in's largest resident set so far, in MB (VmHWM, while it runs)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return float("nan")
        line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
        return int(line.split()[1]) / 1024

    def cpu_seconds(self) -> float:
        """CPU time the stand-in's process used (user + system), from /proc while it runs."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_stand_in(
    directory: Path,
    databases: Sequence[tuple[str, str | None]],
    *,
    token: str,
    account: str,
    latency: float,
    fresh: bool = True,
    workers: int = 1,
) -> StandIn:
    """Start the stand-in in its own process serving ``databases`` (name, uuid or None)
    from ``directory``; with ``fresh=False`` the SQLite files there are served again;
    ``workers`` processes share its port and files (as D1 serves each database apart)."""
    if fresh:
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    listing = directory.parent / f"{directory.name}.databases"
    listing.write_text(
        "".join(f"{name}={uuid}\n" if uuid else f"{name}\n" for name, uuid in databases),
        encoding="utf-8",
    )
    log = directory.parent / f"{directory.name}.log"
    log.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "tests.d1_api_server", "--dir", str(directory),
            "--token", token, "--account", account, "--latency", str(latency),
            "--no-snapshots", "--db-file", str(listing), "--log", str(log),
            "--workers", str(workers)]  # fmt: skip
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ids: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("database "):
            _, name, uuid = line.split()
            ids[name] = uuid
        elif line.startswith("http"):
            return StandIn(process, line.strip(), ids, log)
    raise SystemExit("the D1 API stand-in did not start")
