"""The fault suite: orchestrate against the D1 API stand-in (``tests/d1_api_server.py``,
not Cloudflare) through the scriptable fault proxy (``tests/fault_proxy.py``).

One test per case of the fault campaign (issue 14). Each one failed on the code
before that issue: the docstring of each test says how.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.engines import Batch, Sql, Target
from orchestrator.engines.api import ApiEngine
from orchestrator.engines.d1http import Credentials, D1Http
from orchestrator.engines.ratelimit import RetryPolicy
from orchestrator.errors import TargetError
from orchestrator.model import RunResult
from orchestrator.runner import ApplyOptions, apply_plan
from orchestrator.services import survey
from orchestrator.settings import Settings
from tests.conftest import toml_binding, write_tree
from tests.d1_api_server import D1ApiServer
from tests.fault_proxy import Fault, FaultProxy
from tests.remote.conftest import ACCOUNT, FAST, TOKEN, db_id


@pytest.fixture
def proxy(api_server: D1ApiServer) -> Iterator[FaultProxy]:
    with FaultProxy(api_server.base_url) as running:
        yield running


def engine_through(proxy: FaultProxy, read_timeout: float = 5.0) -> ApiEngine:
    credentials = Credentials(ACCOUNT, proxy.base_url, TOKEN)
    timeout = httpx.Timeout(read_timeout, connect=2.0)
    return ApiEngine(D1Http(credentials, policy=FAST, timeout=timeout))


def three_counters(root: Path) -> Path:
    """0001 creates ``counter``; each file adds one unguarded row (a rerun shows)."""
    files: dict[str, str | bytes] = {
        "packages/c/wrangler.toml": toml_binding("counter-db", db_id(0)),
        "packages/c/migrations/0001_counter.sql": (
            "CREATE TABLE counter (name TEXT);\nINSERT INTO counter (name) VALUES ('0001');\n"
        ),
        "packages/c/migrations/0002_bump.sql": "INSERT INTO counter (name) VALUES ('0002');\n",
        "packages/c/migrations/0003_bump.sql": "INSERT INTO counter (name) VALUES ('0003');\n",
    }
    return write_tree(root, files)


def apply_through(root: Path, proxy: FaultProxy) -> RunResult:
    engine = engine_through(proxy)
    plan = survey(Settings(root=root), engine=engine).plan
    return apply_plan(plan, engine, ApplyOptions())


@pytest.fixture
def root(tmp_path: Path, api_server: D1ApiServer) -> Path:
    api_server.create_database("counter-db", db_id(0))
    return three_counters(tmp_path / "mono")


def counters(api_server: D1ApiServer) -> list[str]:
    return sorted(r[0] for r in api_server.execute_local(db_id(0), "SELECT name FROM counter"))


def locks(api_server: D1ApiServer) -> list[tuple[object, ...]]:
    return api_server.execute_local(db_id(0), "SELECT owner FROM _migrations_lock")


# -- the report tells the truth ----------------------------------------------------------


def test_a_malformed_200_answer_to_a_write_is_settled_from_the_ledger(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer
) -> None:
    """Before: "malformed response (HTTP 200)", 0 applied, no undo, although 0002 committed."""
    proxy.add(Fault.body(b"<html>bad gateway</html>", body_contains="0002_bump"))
    run = apply_through(root, proxy)
    assert run, run.results
    [result] = run.results
    assert [a.name for a in result.applied] == ["0001_counter", "0002_bump", "0003_bump"]
    assert [a.timed for a in result.applied] == [True, False, True]  # 0002 confirmed afterwards
    assert result.restore_command and result.bookmark
    assert counters(api_server) == ["0001", "0002", "0003"] and locks(api_server) == []


def test_an_api_unreachable_after_a_commit_still_reports_what_committed(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer
) -> None:
    """Before: "0 applied", no bookmark, no undo command, and a lock left without a word."""
    proxy.add(Fault.drop_after(body_contains="0002_bump", then_down=True))
    run = apply_through(root, proxy)
    assert not run
    [result] = run.results
    assert [a.name for a in result.applied] == ["0001_counter"]
    assert result.error is not None and "0002_bump.sql may have committed" in result.error
    assert result.bookmark and result.restore_command
    assert result.restore_command.startswith("wrangler d1 time-travel restore counter-db")
    assert any("lock could not be released" in w for w in result.warnings)
    proxy.down = False
    assert counters(api_server) == ["0001", "0002"]  # it had committed: the report said it may


def test_a_refused_write_mid_run_keeps_the_list_of_what_committed(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer
) -> None:
    """Before: the failure took the list of applied migrations with it ("0 applied")."""
    envelope = b'{"success": false, "errors": [{"code": 10000, "message": "Authentication error"}]}'
    proxy.add(Fault.answer(403, {"Content-Type": "application/json"}, envelope,
                           body_contains="0003_bump"))  # fmt: skip
    run = apply_through(root, proxy)
    assert not run
    [result] = run.results
    assert [a.name for a in result.applied] == ["0001_counter", "0002_bump"]
    assert result.restore_command  # two migrations committed: the undo command is there
    assert result.error is not None and "0003_bump.sql did not commit" in result.error
    assert counters(api_server) == ["0001", "0002"] and locks(api_server) == []


# -- clear messages ----------------------------------------------------------------------


def read_through(proxy: FaultProxy) -> str:
    """One read of the database through the proxy; the one-line error it raises."""
    http = engine_through(proxy).http
    path = http.database_path(db_id(0), "query")
    with pytest.raises(TargetError) as raised:
        http.call("POST", path, {"sql": "SELECT 1"}, retry_safe=True, permission="D1 Read",
                  what="counter-db (read)")  # fmt: skip
    return str(raised.value)


@pytest.mark.usefixtures("root")
def test_a_redirect_is_named_a_redirect(proxy: FaultProxy) -> None:
    """Before: "malformed response (HTTP 302)"."""
    proxy.add(Fault.redirect("https://login.example.com/sso", path="/query"))
    message = read_through(proxy)
    assert "redirect (HTTP 302 to https://login.example.com/sso)" in message
    assert "malformed" not in message


@pytest.mark.usefixtures("root")
def test_an_error_envelope_holding_a_string_is_read(proxy: FaultProxy) -> None:
    """Before: ``{"errors": "boom"}`` was reported as just "HTTP 200"."""
    envelope = b'{"success": false, "errors": "boom"}'
    proxy.add(Fault.answer(200, {"Content-Type": "application/json"}, envelope))
    message = read_through(proxy)
    assert message == "counter-db (read): the API answered HTTP 200 without success: boom"


# -- nothing hangs -----------------------------------------------------------------------


def quick_http(proxy: FaultProxy, **options: Any) -> D1Http:
    credentials = Credentials(ACCOUNT, proxy.base_url, TOKEN)
    policy = options.pop("policy", RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02))
    return D1Http(credentials, policy=policy, timeout=httpx.Timeout(5.0, connect=2.0), **options)


def read(http: D1Http) -> Any:
    path = http.database_path(db_id(0), "query")
    return http.call("POST", path, {"sql": "SELECT 1 AS one"}, retry_safe=True,
                     permission="D1 Read", what="counter-db (read)")  # fmt: skip


@pytest.mark.usefixtures("root")
def test_a_trickling_answer_meets_the_overall_deadline(proxy: FaultProxy) -> None:
    """Before: one byte every few seconds (each read within its timeout) never ended."""
    proxy.add(Fault.trickle(0.2, chunk=1, path="/query"), times=2)
    http = quick_http(proxy, deadline=0.6)
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"did not arrive whole within 0\.6 s"):
        read(http)
    assert time.monotonic() - started < 5.0


@pytest.mark.usefixtures("root")
def test_a_trickling_status_line_and_headers_meet_the_overall_deadline(proxy: FaultProxy) -> None:
    """Before: the deadline was checked only between body chunks, so a status line and
    headers that came one byte at a time (each within the read timeout) took minutes."""
    proxy.add(Fault.trickle_head(0.2, chunk=1, path="/query"), times=2)
    http = quick_http(proxy, deadline=0.6)
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"did not arrive whole within 0\.6 s"):
        read(http)
    assert time.monotonic() - started < 5.0
    assert [kind for kind, _, _ in proxy.fired] == ["trickle_head", "trickle_head"]


def test_a_trickling_head_of_a_write_answer_is_settled_from_the_ledger(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer
) -> None:
    """Before: the write waited for the whole trickle (minutes), never met a deadline."""
    proxy.add(Fault.trickle_head(0.2, chunk=1, body_contains="0002_bump"))
    engine = ApiEngine(quick_http(proxy, deadline=0.6))
    plan = survey(Settings(root=root), engine=engine).plan
    started = time.monotonic()
    run = apply_plan(plan, engine, ApplyOptions())
    assert time.monotonic() - started < 15.0
    assert run, run.results
    [result] = run.results
    assert [a.name for a in result.applied] == ["0001_counter", "0002_bump", "0003_bump"]
    assert [a.timed for a in result.applied] == [True, False, True]  # 0002 settled from the ledger
    assert counters(api_server) == ["0001", "0002", "0003"] and locks(api_server) == []


def test_a_trickled_answer_to_a_write_is_settled_from_the_ledger(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer
) -> None:
    """Before: one byte of the body every few seconds kept the write waiting without end."""
    proxy.add(Fault.trickle(0.2, chunk=1, body_contains="0002_bump"))
    engine = ApiEngine(quick_http(proxy, deadline=0.6))
    plan = survey(Settings(root=root), engine=engine).plan
    run = apply_plan(plan, engine, ApplyOptions())
    assert run, run.results
    [result] = run.results
    assert [a.timed for a in result.applied] == [True, False, True]  # 0002 settled from the ledger
    assert counters(api_server) == ["0001", "0002", "0003"]


@pytest.mark.usefixtures("root")
def test_a_huge_retry_after_is_refused_at_once_not_waited(proxy: FaultProxy) -> None:
    """Before: Retry-After 86400 meant minutes of silent waiting."""
    proxy.add(Fault.answer(429, {"Retry-After": "86400"}, b"{}", path="/query"))
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02, max_retry_after=5.0)
    http = quick_http(proxy, policy=policy, sleep=slept.append)
    with pytest.raises(TargetError, match="asks to wait 86400 s, beyond the 5 s one call waits"):
        read(http)
    assert slept == []


@pytest.mark.usefixtures("root")
def test_a_retry_after_wait_is_shown(proxy: FaultProxy) -> None:
    """Before: the wait was only in the --debug log."""
    proxy.add(Fault.answer(429, {"Retry-After": "2"}, b"{}", path="/query"))
    shown: list[str] = []
    slept: list[float] = []
    http = quick_http(proxy, sleep=slept.append, notice=shown.append)
    assert read(http)
    assert slept == [2.0]
    assert shown == ["counter-db (read): HTTP 429 (rate limited); waiting 2 s before retrying"]


# -- corrupt input: the right status, the wrong shape --------------------------------------

WRONG_SHAPES = {
    "success-missing": (
        b'{"errors": [], "result": [{"results": [], "success": true, "meta": {}}]}',
        "the answer (HTTP 200) has the wrong shape: no success field",
    ),
    "result-not-a-list": (
        b'{"success": true, "errors": [], "result": {"results": []}}',
        "the answer has the wrong shape: result is an object, not a list",
    ),
    "results-missing": (
        b'{"success": true, "errors": [], "result": [{"success": true, "meta": {}}]}',
        "the answer has the wrong shape: result[0].results is missing, not a list of rows",
    ),
    "not-an-envelope": (
        b"[1, 2, 3]",
        "the answer (HTTP 200) has the wrong shape: not an API envelope (a JSON object)",
    ),
}


def read_batch(proxy: FaultProxy) -> Any:
    """One retry-safe read through the API engine (the envelope and the result array)."""
    engine = engine_through(proxy)
    session = engine.open(Target("counter-db", "remote", db_id(0)))
    return session.run(Batch((Sql("SELECT 1 AS one"),), "read", retry_safe=True))


@pytest.mark.usefixtures("root")
@pytest.mark.parametrize("case", sorted(WRONG_SHAPES))
def test_a_read_answered_in_the_wrong_shape_is_one_line(proxy: FaultProxy, case: str) -> None:
    """Before: "results missing" and "result not a list" read as no rows (an empty ledger,
    so every migration looked pending); "success missing" said only "HTTP 200"."""
    data, words = WRONG_SHAPES[case]
    proxy.add(Fault.answer(200, {"Content-Type": "application/json"}, data, path="/query"))
    with pytest.raises(TargetError) as raised:
        read_batch(proxy)
    assert str(raised.value) == f"counter-db (read): {words}"


@pytest.mark.parametrize("case", sorted(WRONG_SHAPES))
def test_a_write_answered_in_the_wrong_shape_is_settled_from_the_ledger(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer, case: str
) -> None:
    """Before: a write answered without ``results`` (or with ``result`` not a list) was
    counted as applied unconfirmed; one without ``success`` was "did not commit" although
    it had committed."""
    data, _ = WRONG_SHAPES[case]
    proxy.add(Fault.body(data, body_contains="0002_bump"))
    run = apply_through(root, proxy)
    assert run, run.results
    [result] = run.results
    assert [a.name for a in result.applied] == ["0001_counter", "0002_bump", "0003_bump"]
    assert [a.timed for a in result.applied] == [True, False, True]  # 0002 settled from the ledger
    assert counters(api_server) == ["0001", "0002", "0003"] and locks(api_server) == []


@pytest.mark.parametrize(
    "meta",
    [b"", b', "meta": "fast"', b', "meta": {"duration": "soon"}'],
    ids=["missing", "text", "odd"],
)
def test_an_answer_without_a_usable_meta_is_read(
    root: Path, proxy: FaultProxy, api_server: D1ApiServer, meta: bytes
) -> None:
    """``meta`` only carries the duration. Before: ``"meta": "fast"`` was exit 70."""
    data = (
        b'{"success": true, "errors": [], "result": [{"results": [], "success": true'
        + meta
        + b"}]}"
    )
    proxy.add(Fault.body(data, body_contains="0002_bump"))
    run = apply_through(root, proxy)
    assert run, run.results
    assert counters(api_server) == ["0001", "0002", "0003"] and locks(api_server) == []
