"""The wrangler engine with a fake runner: the argv it builds, the SQL text it
hands wrangler, and how it reads wrangler's output and errors (shapes taken from
real wrangler 4.86 runs, docs/d1-facts.md)."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.discovery import discover_workspace
from orchestrator.engines import Batch, Sql
from orchestrator.engines.ledger import ELAPSED_MS
from orchestrator.engines.ratelimit import RetryPolicy
from orchestrator.engines.wrangler import COMMAND_LIMIT, WranglerEngine
from orchestrator.engines.wranglercli import (
    Completed,
    WranglerTimeout,
    find_wrangler,
    render_batch,
    render_statement,
    sql_literal,
    wrangler_environment,
)
from orchestrator.errors import AuthError, BatchError, OutcomeUnknown, TargetError, UsageError
from orchestrator.model import Database
from orchestrator.settings import Settings

IO_ID = "5795e779-22cb-461b-9a76-4b28f7e2bc1c"
REMOTE_SQL_ERROR = {
    "error": {
        "text": f"A request to the Cloudflare API (/accounts/acc/d1/database/{IO_ID}/query) failed.",
        "notes": [{"text": "no such table: nope: SQLITE_ERROR [code: 7500]"}],
        "kind": "error",
        "name": "APIError",
        "code": 7500,
        "accountTag": "acc",
    }
}


def ok(*results: list[dict[str, object]]) -> Completed:
    entries = [{"results": r, "success": True, "meta": {"duration": 2}} for r in results]
    return Completed(0, json.dumps(entries, indent=2), "")


def failed(document: object, stderr: str = "") -> Completed:
    return Completed(1, "\n" + json.dumps(document, indent=2), stderr)


class FakeRunner:
    """Answers each call with the next queued ``Completed`` (or raises a queued exception)."""

    def __init__(self, *answers: Completed | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[list[str], Path, dict[str, str]]] = []

    def __call__(
        self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float
    ) -> Completed:
        self.calls.append((list(argv), cwd, dict(env)))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def database(root: Path, name: str, env: str | None = None) -> Database:
    workspace = discover_workspace(Settings(root=root), env)
    return next(d for d in workspace.databases if d.name == name)


def engine_for(root: Path, runner: FakeRunner, remote: bool = True, **kw: object) -> WranglerEngine:
    policy = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)
    return WranglerEngine(
        root, ("wrangler",), remote=remote, runner=runner, environ={"X": "1"}, policy=policy, **kw
    )  # type: ignore[arg-type]


def one_statement() -> Batch:
    return Batch((Sql("SELECT 1 AS one"),), "read")


# --------------------------------------------------------------------------- argv


def test_remote_argv_runs_in_the_package_with_its_config(monorepo: Path) -> None:
    runner = FakeRunner(ok([{"one": 1}]))
    engine = engine_for(monorepo, runner)
    [target] = engine.targets(database(monorepo, "io-db"))
    result = engine.open(target).run(one_statement())
    assert result.rows == (({"one": 1},),) and result.duration_ms == 2
    [(argv, cwd, env)] = runner.calls
    assert argv == [
        *("wrangler", "d1", "execute", "IO_DB", "--remote", "--json"),
        *("-c", "wrangler.jsonc", "--command=SELECT 1 AS one;"),
    ]
    assert cwd == monorepo / "packages/admin"  # the first binding carrying the id
    assert env == {"X": "1"}


def test_env_bindings_pass_env(monorepo: Path) -> None:
    runner = FakeRunner(ok([]))
    engine = engine_for(monorepo, runner)
    [target] = engine.targets(database(monorepo, "notifications-db-staging", env="staging"))
    engine.open(target).run(one_statement())
    argv = runner.calls[0][0]
    assert argv[argv.index("-c") : -1] == ["-c", "wrangler.toml", "--env", "staging"]


def test_local_argv_targets_each_binding_package_and_honours_persist_to(
    monorepo: Path, tmp_path: Path
) -> None:
    runner = FakeRunner(ok([]), ok([]))
    engine = engine_for(monorepo, runner, remote=False)
    targets = engine.targets(database(monorepo, "io-db"))
    assert [t.label for t in targets] == ["packages/admin", "packages/io"]
    engine.open(targets[1]).run(one_statement())
    assert runner.calls[0][0][3:6] == ["DB", "--local", "--json"]
    assert runner.calls[0][1] == monorepo / "packages/io"
    persisted = engine_for(monorepo, runner, remote=False, persist_to=tmp_path / "state")
    [shared] = persisted.targets(database(monorepo, "io-db"))  # one file: one target
    persisted.open(shared).run(one_statement())
    assert runner.calls[1][0][4:8] == ["--local", "--persist-to", str(tmp_path / "state"), "--json"]


def test_bookmark_uses_time_travel_info_remotely_and_nothing_locally(monorepo: Path) -> None:
    runner = FakeRunner(Completed(0, json.dumps({"bookmark": "00000000-00000006-abc"}), ""))
    engine = engine_for(monorepo, runner)
    [target] = engine.targets(database(monorepo, "learn-db"))
    assert engine.open(target).bookmark() == "00000000-00000006-abc"
    assert runner.calls[0][0] == [
        *("wrangler", "d1", "time-travel", "info", "DB", "--json", "-c", "wrangler.jsonc")
    ]
    local = engine_for(monorepo, runner, remote=False)
    assert local.open(local.targets(database(monorepo, "learn-db"))[0]).bookmark() is None
    assert len(runner.calls) == 1


def test_a_batch_is_one_command_with_values_rendered_as_literals(monorepo: Path) -> None:
    runner = FakeRunner(ok([], [], []))
    engine = engine_for(monorepo, runner)
    [target] = engine.targets(database(monorepo, "io-db"))
    batch = Batch(
        (
            Sql("CREATE TABLE t (a TEXT, b INTEGER, c REAL)"),
            Sql("INSERT INTO t VALUES (?, ?, ?)", ("it's; '--", -3, ELAPSED_MS)),
            Sql("DELETE FROM t WHERE c < ?", (1.5,)),
        ),
        "0001_t.sql",
    )
    engine.open(target).run(batch)
    command = runner.calls[0][0][-1]
    assert command == "--command=" + (
        "CREATE TABLE t (a TEXT, b INTEGER, c REAL);\n"
        "INSERT INTO t VALUES ('it''s; ''--', (-3), NULL);\n"
        "DELETE FROM t WHERE c < 1.5;"
    )


def test_a_batch_too_long_for_one_argument(monorepo: Path) -> None:
    huge = Batch((Sql("SELECT '" + "x" * COMMAND_LIMIT + "'"),), "big.sql")
    remote = engine_for(monorepo, FakeRunner())
    [target] = remote.targets(database(monorepo, "io-db"))
    with pytest.raises(TargetError, match="too long") as caught:
        remote.open(target).run(huge)
    assert "api engine" in caught.value.hint
    runner = FakeRunner(ok([]))
    local = engine_for(monorepo, runner, remote=False)
    local.open(local.targets(database(monorepo, "io-db"))[0]).run(huge)
    argv = runner.calls[0][0]
    assert argv[-1].startswith("--file=") and argv[-1].endswith("batch.sql")  # atomic locally


# --------------------------------------------------------------------------- errors


def run_with(monorepo: Path, *answers: Completed | Exception, batch: Batch | None = None) -> object:
    engine = engine_for(monorepo, FakeRunner(*answers))
    [target] = engine.targets(database(monorepo, "io-db"))
    return engine.open(target).run(batch or one_statement())


MIGRATION = Batch(
    (Sql("CREATE TABLE v (a)", file="m.sql", line=1), Sql("INSERT INTO nope VALUES (1)", line=2)),
    "m.sql",
)


@pytest.mark.parametrize(
    "answer",
    [
        failed(REMOTE_SQL_ERROR),
        failed({"error": {"text": "no such table: nope: SQLITE_ERROR"}}),  # the --local shape
    ],
)
def test_a_sql_error_names_the_failing_statement(monorepo: Path, answer: Completed) -> None:
    with pytest.raises(BatchError) as caught:
        run_with(monorepo, answer, batch=MIGRATION)
    assert caught.value.sqlite_message == "no such table: nope: SQLITE_ERROR"
    assert caught.value.index == 1


def test_a_refused_token_is_an_auth_error_naming_the_permission(monorepo: Path) -> None:
    refused = {
        "error": {
            "text": "A request … failed.",
            "notes": [{"text": "Authentication error [code: 10000]"}],
            "code": 10000,
            "name": "APIError",
        }
    }
    with pytest.raises(AuthError, match="D1 Edit"):
        run_with(monorepo, failed(refused), batch=MIGRATION)
    not_logged_in = Completed(
        1,
        " ⛅️ wrangler 4.86.0\n",
        "\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m In a non-interactive environment, "
        "it's necessary to set a CLOUDFLARE_API_TOKEN environment variable for wrangler to work.\n",
    )
    with pytest.raises(AuthError, match="D1 Read"):
        run_with(monorepo, not_logged_in)


def test_429_is_retried_even_for_a_migration(monorepo: Path) -> None:
    throttled = {
        "error": {
            "text": "A request … failed.",
            "notes": [
                {"text": "Please wait and consider throttling your request speed [code: 971]"}
            ],
            "code": 971,
        }
    }
    runner = FakeRunner(failed(throttled), ok([], []))
    engine = engine_for(monorepo, runner)
    [target] = engine.targets(database(monorepo, "io-db"))
    engine.open(target).run(Batch((Sql("CREATE TABLE v (a)"), Sql("SELECT 1")), "m.sql"))
    assert len(runner.calls) == 2


DROPPED = failed({"error": {"text": "fetch failed"}})
HTML_503 = failed(
    {
        "error": {
            "text": "Received a malformed response from the API",
            "notes": [
                {"text": "<html>…503…</html>"},
                {"text": "POST /accounts/acc/d1/database/x/query -> 503"},
            ],
        }
    }
)


@pytest.mark.parametrize("answer", [DROPPED, HTML_503, WranglerTimeout("no answer in 180 s")])
def test_an_unknown_outcome_is_retried_for_reads_only(
    monorepo: Path, answer: Completed | Exception
) -> None:
    assert run_with(monorepo, answer, ok([{"one": 1}])) is not None
    with pytest.raises(OutcomeUnknown):
        run_with(monorepo, answer, batch=MIGRATION)


def test_other_failures_are_target_errors_with_wranglers_words(monorepo: Path) -> None:
    missing = Completed(
        1,
        "",
        "✘ [ERROR] Couldn't find a D1 DB with the name or binding 'IO_DB' in your wrangler.toml file.\n"
        '🪵  Logs were written to "/x/wrangler.log"\n',
    )
    with pytest.raises(TargetError, match="Couldn't find a D1 DB with the name or binding 'IO_DB'"):
        run_with(monorepo, missing)


def test_reads_give_up_after_the_last_attempt(monorepo: Path) -> None:
    with pytest.raises(TargetError, match="gave up after 3 attempts: fetch failed"):
        run_with(monorepo, DROPPED, DROPPED, DROPPED)


def test_a_result_count_that_does_not_match_is_refused_for_reads(monorepo: Path) -> None:
    batch = Batch((Sql("SELECT 1"), Sql("SELECT 2")), "read")
    with pytest.raises(TargetError, match="1 results for 2 statements"):
        run_with(monorepo, ok([]), batch=batch)


# --------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (0, "0"),
        (42, "42"),
        (-7, "(-7)"),
        (2**63 - 1, "9223372036854775807"),
        (1.5, "1.5"),
        (-0.25, "(-0.25)"),
        (-0.0, "(-0.0)"),
        (1e300, "1e+300"),
        ("", "''"),
        ("it's", "'it''s'"),
        ("'; DROP TABLE t; --", "'''; DROP TABLE t; --'"),
        ("line\nbreak", "'line\nbreak'"),
        ("naïve ✓", "'naïve ✓'"),
    ],
)
def test_sql_literal(value: object, literal: str) -> None:
    assert sql_literal(value) == literal


@pytest.mark.parametrize(
    "value",
    [True, b"bytes", [1], 2**63, -(2**63) - 1, math.nan, math.inf, "nul\x00", "\ud800", object()],
)
def test_sql_literal_refuses_what_it_cannot_write_exactly(value: object) -> None:
    with pytest.raises(ValueError):
        sql_literal(value)


values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text().filter(lambda s: "\x00" not in s),
)


@given(values)
def test_a_literal_reads_back_as_the_same_value_in_sqlite(value: object) -> None:
    connection = sqlite3.connect(":memory:")
    try:
        [(back,)] = connection.execute(f"SELECT {sql_literal(value)}").fetchall()
        [row] = connection.execute(f"SELECT 0 -{sql_literal(value)}, 7").fetchall()
    finally:
        connection.close()
    if isinstance(value, float):  # SQLite's own text-to-float parsing may be off by an ulp
        assert math.isclose(back, value, rel_tol=1e-14, abs_tol=1e-307)
    else:
        assert back == value
    assert row[1] == 7  # nothing after the literal was swallowed by a "--" comment
    if isinstance(value, int):
        assert row[0] == -value


def test_render_statement_only_replaces_real_placeholders() -> None:
    text = render_statement(Sql("SELECT '?' AS q, \"?\" AS r, ? AS s -- ?", ("v",)))
    assert text == "SELECT '?' AS q, \"?\" AS r, 'v' AS s -- ?;"


def test_render_batch_refuses_mismatched_or_named_placeholders() -> None:
    for statement in (Sql("SELECT ?, ?", (1,)), Sql("SELECT ?", (1, 2)), Sql("SELECT :a", (1,))):
        with pytest.raises(TargetError, match="cannot hand this batch to wrangler"):
            render_batch(Batch((statement,), "x"))


# --------------------------------------------------------------------------- finding wrangler


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_find_wrangler_order(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    bin_dir = tmp_path / "bin"
    pinned = str(tmp_path / "pinned")
    assert find_wrangler(root, {"ORCHESTRATE_WRANGLER": pinned}) == (pinned,)
    with pytest.raises(UsageError, match="wrangler not found"):
        find_wrangler(root, {"PATH": str(bin_dir)})
    npx = executable(bin_dir / "npx")
    assert find_wrangler(root, {"PATH": str(bin_dir)}) == (str(npx), "--no-install", "wrangler")
    on_path = executable(bin_dir / "wrangler")
    assert find_wrangler(root, {"PATH": str(bin_dir)}) == (str(on_path),)
    in_repo = executable(root / "node_modules/.bin/wrangler")
    assert find_wrangler(root, {"PATH": str(bin_dir)}) == (str(in_repo),)


def test_wrangler_gets_credentials_under_its_own_names() -> None:
    remote = {"api_token_env": "MY_TOKEN", "account_id_env": "MY_ACC", "base_url": "http://t/v4"}
    env = wrangler_environment(remote, {"MY_TOKEN": "secret", "MY_ACC": "a1", "PATH": "/bin"})
    assert env["CLOUDFLARE_API_TOKEN"] == "secret" and env["CLOUDFLARE_ACCOUNT_ID"] == "a1"
    assert env["CLOUDFLARE_API_BASE_URL"] == "http://t/v4"
    assert env["WRANGLER_SEND_METRICS"] == "false" and env["PATH"] == "/bin"
    kept = wrangler_environment(remote, {"MY_TOKEN": "a", "CLOUDFLARE_API_TOKEN": "b"})
    assert kept["CLOUDFLARE_API_TOKEN"] == "b"  # an explicit wrangler variable wins


def test_remote_targets_without_an_id_are_left_to_wranglers_lookup_by_name(monorepo: Path) -> None:
    """wrangler >= 4.102 looks a binding with no database_id up by name itself."""
    engine = engine_for(monorepo, FakeRunner())
    [target] = engine.targets(database(monorepo, "dashboard-db"))
    assert (target.extra["binding"], target.locator) == ("DB", "")
    resolved = engine.resolve(database(monorepo, "dashboard-db"))
    assert (resolved.id, resolved.lookup_name) == ("", "dashboard-db")


def test_remote_targets_refuse_a_placeholder_id(monorepo: Path) -> None:
    engine = engine_for(monorepo, FakeRunner())
    found = database(monorepo, "dashboard-db")
    zeros = "00000000-0000-0000-0000-000000000000"
    placeholder = replace(
        found, bindings=tuple(replace(b, database_id=zeros) for b in found.bindings)
    )
    with pytest.raises(TargetError) as caught:
        engine.targets(placeholder)
    assert caught.value.file == "packages/legacy-dashboard/wrangler.toml"


def test_json_after_a_banner_is_still_found(monorepo: Path) -> None:
    noisy = Completed(0, "▲ [WARNING] something\n" + json.dumps([{"results": [], "meta": {}}]), "")
    result = run_with(monorepo, noisy)
    assert result is not None


def test_a_failed_entry_in_a_successful_answer_is_a_batch_error(monorepo: Path) -> None:
    answer = Completed(0, json.dumps([{"success": True}, {"success": False, "error": "boom"}]), "")
    with pytest.raises(BatchError) as caught:
        run_with(monorepo, answer, batch=MIGRATION)
    assert caught.value.index == 1
