"""The D1 API engine against the D1 API stand-in (tests/d1_api_server.py, not
Cloudflare): real HTTP, real SQLite behind it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orchestrator.discovery import discover_workspace
from orchestrator.engines import Batch, Sql
from orchestrator.engines.api import ApiEngine
from orchestrator.engines.d1http import Credentials, D1Http, credentials_from
from orchestrator.engines.local import LocalEngine
from orchestrator.engines.select import choose_engine
from orchestrator.engines.wrangler import WranglerEngine
from orchestrator.errors import BatchError, TargetError, UsageError
from orchestrator.model import Binding, Database
from orchestrator.runner import ApplyOptions, apply_plan
from orchestrator.services import survey
from orchestrator.settings import Settings, load_settings
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import ACCOUNT, FAST, TOKEN, api_engine, db_id, serve_tree, small_tree
from tests.remote.recording import RecordingTransport


def database(root: Path, name: str) -> Database:
    return next(d for d in discover_workspace(Settings(root=root)).databases if d.name == name)


def recording_engine(server: D1ApiServer) -> tuple[ApiEngine, RecordingTransport]:
    transport = RecordingTransport()
    http = D1Http(Credentials(ACCOUNT, server.base_url, TOKEN), transport=transport, policy=FAST)
    return ApiEngine(http), transport


def test_a_batch_is_one_request_of_parameterized_statements_ending_with_semicolons(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono")
    serve_tree(api_server, 1)
    engine, transport = recording_engine(api_server)
    session = engine.open(engine.targets(database(root, "db0"))[0])
    nasty = "x'); DROP TABLE t; --"
    result = session.run(
        Batch(
            (
                Sql("CREATE TABLE t (a TEXT)"),
                Sql("INSERT INTO t (a) VALUES (?)", (nasty,)),
                Sql("SELECT a FROM t"),
            )
        )
    )
    assert result.rows[2] == ({"a": nasty},)
    [(_, method, path, body)] = transport.sent
    assert (method, path) == ("POST", f"/client/v4/accounts/{ACCOUNT}/d1/database/{db_id(0)}/query")
    assert [item["sql"][-1] for item in body["batch"]] == [";", ";", ";"]
    assert body["batch"][1] == {"sql": "INSERT INTO t (a) VALUES (?);", "params": [nasty]}


def test_a_failing_statement_rolls_back_the_batch_and_is_named_by_index(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono")
    serve_tree(api_server, 1)
    engine = api_engine(api_server)
    session = engine.open(engine.targets(database(root, "db0"))[0])
    batch = Batch((Sql("CREATE TABLE a (x)"), Sql("INSERT INTO nope VALUES (1)"), Sql("SELECT 1")))
    with pytest.raises(BatchError) as caught:
        session.run(batch)
    assert caught.value.index == 1
    assert caught.value.sqlite_message == "no such table: nope: SQLITE_ERROR"
    assert api_server.execute_local(db_id(0), "SELECT name FROM sqlite_master") == []


def test_a_database_bound_by_several_packages_is_one_remote_target(monorepo: Path) -> None:
    io = database(monorepo, "io-db")
    assert {b.package for b in io.bindings} == {"packages/admin", "packages/io"}
    [target] = ApiEngine(D1Http(Credentials(ACCOUNT, "http://127.0.0.1:9", TOKEN))).targets(io)
    assert target.locator == "5795e779-22cb-461b-9a76-4b28f7e2bc1c"


def test_a_binding_without_database_id_the_api_does_not_know_is_an_error_naming_its_config(
    monorepo: Path, api_server: D1ApiServer
) -> None:
    """Looked up by name, as wrangler >= 4.102 does; the stand-in (not Cloudflare) has no such name."""
    engine = api_engine(api_server)
    with pytest.raises(TargetError) as caught:
        engine.targets(database(monorepo, "dashboard-db"))
    assert caught.value.file == "packages/legacy-dashboard/wrangler.toml"
    assert caught.value.line is not None
    assert "no D1 database named 'dashboard-db' (bound as 'DB')" in caught.value.message
    assert "wrangler d1 create dashboard-db" in caught.value.message
    paths = [r.path for r in api_server.requests]
    assert paths == [f"/client/v4/accounts/{ACCOUNT}/d1/database/dashboard-db?fields=uuid%2Cname"]


def test_bookmark_is_the_servers_current_time_travel_bookmark(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono")
    serve_tree(api_server, 1)
    engine, transport = recording_engine(api_server)
    bookmark = engine.open(engine.targets(database(root, "db0"))[0]).bookmark()
    assert bookmark is not None and bookmark.startswith("00000000-00000001-")
    assert [(m, p.rsplit("/", 2)[-2:]) for _, m, p, _ in transport.sent] == [
        ("GET", ["time_travel", "bookmark"])
    ]


def test_steady_state_costs_one_read_then_bookmark_lock_one_per_migration_and_unlock(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    """``--batch per-migration``: each migration commits on its own, under the lock."""
    root = small_tree(tmp_path / "mono", migrations=3)
    serve_tree(api_server, 1)
    engine = api_engine(api_server)
    settings = Settings(root=root)
    options = ApplyOptions()  # the library's default: batch="per-migration"
    first = apply_plan(survey(settings, engine=engine).plan, engine, options)
    assert first and [len(r.applied) for r in first.results] == [3]
    for m in (4, 5):
        (root / f"packages/p0/migrations/{m:04d}_t{m}.sql").write_text(f"CREATE TABLE t{m} (a);\n")
    api_server.clear_requests()
    second = apply_plan(survey(settings, engine=engine).plan, engine, options)
    assert second and [len(r.applied) for r in second.results] == [2]
    kinds = [_kind(r.method, r.sql) for r in api_server.requests]
    assert kinds == ["read", "bookmark", "lock", "migration", "migration", "unlock"]


def test_one_write_per_database_costs_the_read_and_one_write(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    """The remote default: the plan's read, then ONE guarded write with every pending
    migration and its ledger rows; no bookmark, lock or unlock round trip."""
    root = small_tree(tmp_path / "mono", migrations=3)
    serve_tree(api_server, 1)
    engine = api_engine(api_server)
    settings = Settings(root=root)
    found = survey(settings, engine=engine)
    first = apply_plan(
        found.plan, engine, ApplyOptions(batch="database", states=tuple(found.states.items()))
    )
    assert first and [len(r.applied) for r in first.results] == [3]
    for m in (4, 5):
        (root / f"packages/p0/migrations/{m:04d}_t{m}.sql").write_text(f"CREATE TABLE t{m} (a);\n")
    api_server.clear_requests()
    found = survey(settings, engine=engine)
    second = apply_plan(
        found.plan, engine, ApplyOptions(batch="database", states=tuple(found.states.items()))
    )
    [result] = second.results
    assert second and [a.name for a in result.applied] == ["0004_t4", "0005_t5"]
    kinds = [_kind(r.method, r.sql) for r in api_server.requests]
    assert kinds == ["read", "migration"]
    # The undo command restores by the time the run began writing (no bookmark request).
    assert result.restore_command is not None and "--timestamp=" in result.restore_command
    rows = api_server.execute_local(db_id(0), "SELECT bookmark FROM _migrations WHERE id > 3")
    assert {r[0] for r in rows} == {result.bookmark}
    assert api_server.execute_local(db_id(0), "SELECT count(*) FROM d1_migrations") == [(5,)]


def _kind(method: str, sql: str | None) -> str:
    if method == "GET":
        return "bookmark"
    assert sql is not None
    if 'INSERT OR IGNORE INTO "_migrations_lock"' in sql:
        return "lock"
    if sql.startswith("SELECT m.name AS tbl"):
        return "read"
    if 'DELETE FROM "_migrations_lock" WHERE owner' in sql:
        return "unlock"
    return "migration"


def test_server_reported_times_are_recorded_with_the_unlock(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono", migrations=2)
    serve_tree(api_server, 1)
    engine = api_engine(api_server)
    run = apply_plan(survey(Settings(root=root), engine=engine).plan, engine, ApplyOptions())
    assert run
    rows = api_server.execute_local(
        db_id(0), "SELECT filename, execution_time_ms, bookmark FROM _migrations ORDER BY id"
    )
    bookmark = run.results[0].bookmark
    assert [(r[0], r[2]) for r in rows] == [("0001_t1.sql", bookmark), ("0002_t2.sql", bookmark)]
    assert all(isinstance(r[1], int) for r in rows)  # NULL at commit, filled by the unlock batch


def test_credentials_come_from_the_variables_workspace_toml_names() -> None:
    remote = {
        "api_token_env": "MY_TOKEN",
        "account_id_env": "MY_ACCOUNT",
        "base_url": "http://x/v4",
    }
    creds = credentials_from(remote, {"MY_TOKEN": TOKEN, "MY_ACCOUNT": "a1"})
    assert (creds.account_id, creds.base_url, creds.token_env) == ("a1", "http://x/v4", "MY_TOKEN")
    env_wins = {"MY_TOKEN": TOKEN, "MY_ACCOUNT": "a1", "CLOUDFLARE_API_BASE_URL": "http://y/v4/"}
    assert credentials_from(remote, env_wins).base_url == "http://y/v4"
    assert credentials_from(
        {}, {"CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": "a"}
    ).base_url == ("https://api.cloudflare.com/client/v4")
    with pytest.raises(UsageError, match=r"\$MY_TOKEN"):
        credentials_from(remote, {"MY_ACCOUNT": "a1"})
    with pytest.raises(UsageError, match=r"\$MY_ACCOUNT"):
        credentials_from(remote, {"MY_TOKEN": TOKEN})


def test_a_malformed_token_is_refused_without_echoing_it() -> None:
    bad = TOKEN + "\nX-Injected: 1"
    with pytest.raises(UsageError) as caught:
        credentials_from({}, {"CLOUDFLARE_API_TOKEN": bad, "CLOUDFLARE_ACCOUNT_ID": "a"})
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_workspace_remote_section_is_validated(tmp_path: Path) -> None:
    (tmp_path / "workspace.toml").write_text('[remote]\napi_token_env = "abc def"\n')
    with pytest.raises(Exception, match="must name an environment variable"):
        load_settings(tmp_path)
    (tmp_path / "workspace.toml").write_text('[remote]\napi_token = "x"\n')
    with pytest.raises(Exception, match=r"unknown key remote\.'api_token'"):
        load_settings(tmp_path)


def test_remote_picks_the_api_engine_with_a_token_else_wrangler(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings(root=tmp_path)
    monkeypatch.setenv("ORCHESTRATE_WRANGLER", "/opt/wrangler")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    assert isinstance(choose_engine(settings, remote=True), WranglerEngine)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    assert isinstance(choose_engine(settings, remote=True), ApiEngine)
    forced = choose_engine(settings, remote=True, engine="wrangler")
    assert isinstance(forced, WranglerEngine) and forced.remote
    local_wrangler = choose_engine(settings, engine="wrangler")
    assert isinstance(local_wrangler, WranglerEngine) and not local_wrangler.remote
    # Contradictions are usage errors: `--engine api` without --remote would reach production.
    with pytest.raises(UsageError):
        choose_engine(settings, remote=True, engine="local")
    with pytest.raises(UsageError):
        choose_engine(settings, engine="api")
    assert isinstance(choose_engine(settings, engine="local"), LocalEngine)


def test_an_unknown_database_id_is_reported_per_database(
    api_server: D1ApiServer, tmp_path: Path
) -> None:
    root = small_tree(tmp_path / "mono", databases=2)
    api_server.create_database("db1", db_id(1))  # db0 was never created remotely
    engine = api_engine(api_server)
    found = survey(Settings(root=root), engine=engine)
    by_name = {d.database.name: d for d in found.plan.databases}
    [problem] = by_name["db0"].problems
    assert problem.is_error and "could not be found" in problem.message
    assert not by_name["db1"].problems


def test_http_client_repr_and_headers_hide_the_token(api_server: D1ApiServer) -> None:
    http = D1Http(Credentials(ACCOUNT, api_server.base_url, TOKEN))
    assert TOKEN not in repr(http) and TOKEN not in repr(ApiEngine(http))
    assert TOKEN not in repr(Credentials(ACCOUNT, api_server.base_url, TOKEN))
    assert "[secure]" in repr(
        httpx.Request("GET", "http://x", headers={"Authorization": TOKEN}).headers
    )


def test_a_base_url_that_cannot_work_fails_at_once() -> None:
    env = {"CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT}
    with pytest.raises(UsageError, match="must start with https://"):
        credentials_from({}, env | {"CLOUDFLARE_API_BASE_URL": "api.cloudflare.com/client/v4"})
    engine = ApiEngine(D1Http(Credentials(ACCOUNT, "ftp://127.0.0.1:9/v4", TOKEN), policy=FAST))
    target = engine.targets(database_for_id())[0]
    with pytest.raises(TargetError, match="UnsupportedProtocol"):
        engine.open(target).run(Batch((Sql("SELECT 1"),)))


def database_for_id() -> Database:
    return Database("k", "db0", db_id(0), (binding_with_id(),), ())


def binding_with_id() -> Binding:
    return Binding(
        "packages/p0", "DB", "packages/p0/wrangler.toml", "db0", db_id(0), "", "m", "d1_migrations"
    )
