"""``apply --remote`` asks first on a terminal, as ``wrangler d1 migrations apply`` does
(default yes); ``-y`` skips the question; through a pipe or in CI it goes on without asking,
as wrangler does. The terminal is a real pseudo-terminal; the remote is
``tests/d1_api_server.py``, a local server standing in for Cloudflare's D1 API."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import ACCOUNT, TOKEN, db_id, serve_tree, small_tree

ORCHESTRATE = str(Path(sys.executable).with_name("orchestrate"))
CI_VARIABLES = ("CI", "CONTINUOUS_INTEGRATION", "BUILD_ID", "BUILD_NUMBER", "RUN_ID", "CI_NAME")


def _env(server: D1ApiServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES and k != "GITHUB_ACTIONS"}
    return env | {
        "CLOUDFLARE_API_TOKEN": TOKEN,
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
        "CLOUDFLARE_API_BASE_URL": server.base_url,
        "NO_COLOR": "1",
        "TERM": "dumb",
    }


def _on_terminal(args: list[str], env: dict[str, str], answer: bytes) -> tuple[int, str]:
    """Run orchestrate with a pseudo-terminal as stdin/stdout/stderr; answer its question."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once
        os.execve(ORCHESTRATE, [ORCHESTRATE, *args], env)
    seen, answered, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break  # the child closed the terminal
        if not chunk:
            break
        seen += chunk
        if not answered and b"Continue?" in seen:
            os.write(fd, answer)
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def _applied(server: D1ApiServer) -> int:
    try:
        return len(server.execute_local(db_id(0), "SELECT filename FROM _migrations"))
    except Exception:
        return 0


def test_no_on_a_terminal_applies_nothing(api_server: D1ApiServer, tmp_path: Path) -> None:
    root = small_tree(tmp_path / "repo", databases=1, migrations=2)
    serve_tree(api_server, 1)
    args = ["apply", "--all", "--remote", "--root", str(root)]
    code, out = _on_terminal(args, _env(api_server), b"n\n")
    assert code == 0, out
    assert "About to apply 2 migrations to 1 remote database (db0)" in out
    assert "Nothing applied." in out
    assert _applied(api_server) == 0


def test_yes_on_a_terminal_applies(api_server: D1ApiServer, tmp_path: Path) -> None:
    root = small_tree(tmp_path / "repo", databases=1, migrations=2)
    serve_tree(api_server, 1)
    code, out = _on_terminal(
        ["apply", "--all", "--remote", "--root", str(root)], _env(api_server), b"y\n"
    )
    assert code == 0, out
    assert _applied(api_server) == 2


def test_dash_y_and_a_pipe_never_ask(api_server: D1ApiServer, tmp_path: Path) -> None:
    root = small_tree(tmp_path / "repo", databases=1, migrations=2)
    serve_tree(api_server, 1)
    code, out = _on_terminal(
        ["apply", "--all", "--remote", "-y", "--root", str(root)], _env(api_server), b"n\n"
    )
    assert code == 0 and "Continue?" not in out and _applied(api_server) == 2
    (root / "packages/p0/migrations/0003_t3.sql").write_text("CREATE TABLE t3 (id INTEGER);\n")
    piped = subprocess.run(  # no terminal: wrangler goes on with its fallback answer, yes
        [ORCHESTRATE, "apply", "--all", "--remote", "--root", str(root)],
        env=_env(api_server),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0 and "Continue?" not in piped.stderr
    assert _applied(api_server) == 3
