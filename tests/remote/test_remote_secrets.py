"""The API token never appears in any output, log record, exception or --debug
trace, whatever goes wrong. Runs against the D1 API stand-in
(tests/d1_api_server.py, not Cloudflare)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.engines.d1http import credentials_from
from orchestrator.errors import UsageError
from tests.apply.helpers import cli
from tests.conftest import wrangler_path
from tests.d1_api_server import D1ApiServer, Fault
from tests.remote.conftest import TOKEN, serve_tree, small_tree

WRONG = "tok-WR0NG-77c1e5a9"


@pytest.fixture
def root(tmp_path: Path, remote_env: D1ApiServer) -> Path:
    serve_tree(remote_env, 2)
    return small_tree(tmp_path / "mono", databases=2)


def assert_secret_free(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert WRONG not in text


def test_no_token_in_output_or_logs_on_success_and_failures(
    root: Path,
    remote_env: D1ApiServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # every library's debug records, httpx and httpcore included
    outputs: list[str] = []

    def run(*args: str) -> int:
        code, out, err = cli("--debug", *args, "--root", str(root))
        outputs.extend([out, err])
        return code

    assert run("plan", "--remote") == 0
    (root / "packages/p0/migrations/0004_bad.sql").write_text("INSERT INTO nope VALUES (1);\n")
    remote_env.faults.http_5xx(503, path="/query")
    remote_env.faults.drop_after_commit(path="/query")
    assert run("apply", "--all", "--remote") == 1  # p0 fails on 0004, p1 applies
    remote_env.faults.add(Fault.http_5xx(502), times=20)
    assert run("apply", "--all", "--remote") == 1  # gives up after retries
    remote_env.faults.clear()
    remote_env.faults.add(Fault.http_error(403, method="POST"), times=20)
    assert run("history", "--db", "db1", "--remote") == 1
    remote_env.faults.clear()
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", WRONG)
    assert run("apply", "--all", "--remote") == 1
    assert any("D1 Read" in o for o in outputs)
    assert any("Traceback" in o for o in outputs)  # --debug really printed traces
    assert any("debug: orchestrator.d1api" in o for o in outputs)
    assert_secret_free(*outputs, caplog.text)
    assert_secret_free(*(repr(r.__dict__) for r in caplog.records))


def test_no_token_in_a_real_process_debug_trace(root: Path, remote_env: D1ApiServer) -> None:
    env = dict(os.environ, CLOUDFLARE_API_TOKEN=WRONG)
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "--debug", "apply", "--all", "--remote"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "HTTP 403" in result.stderr and "Traceback" in result.stderr
    assert_secret_free(result.stdout, result.stderr)


def test_a_malformed_token_is_never_echoed() -> None:
    bad = TOKEN + "\r\nX: y"
    with pytest.raises(UsageError) as caught:
        credentials_from({}, {"CLOUDFLARE_API_TOKEN": bad, "CLOUDFLARE_ACCOUNT_ID": "a"})
    assert_secret_free(str(caught.value), repr(caught.value), caught.value.hint)


@pytest.mark.wrangler
@pytest.mark.skipif(wrangler_path() is None, reason="wrangler not installed (make setup)")
def test_no_token_through_the_wrangler_engine(
    root: Path, remote_env: D1ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRATE_WRANGLER", str(wrangler_path()))
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", WRONG)
    code, out, err = cli(
        "--debug", "apply", "--db", "db0", "--remote", "--engine", "wrangler", "--root", str(root)
    )
    assert code == 1
    assert "Authentication error" in out + err and "D1" in out + err
    assert_secret_free(out, err)
