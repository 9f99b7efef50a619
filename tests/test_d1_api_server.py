"""Tests of the D1 REST API stand-in (tests/d1_api_server.py), with urllib only."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from d1_api_server import (
    TRANSACTION_REFUSED,
    D1ApiServer,
    Fault,
    split_statements,
)

TOKEN = "t0k-secret-value"
ACCOUNT = "acc"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[D1ApiServer]:
    with D1ApiServer(tmp_path / "d1", token=TOKEN, account_id=ACCOUNT) as srv:
        yield srv


@pytest.fixture
def db_id(server: D1ApiServer) -> str:
    return server.create_database("io-db")


def call(
    server: D1ApiServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = TOKEN,
    timeout: float = 5.0,
) -> tuple[int, Any, dict[str, str]]:
    """One request; returns (status, parsed JSON or text, headers)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server.base_url + path, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        status, raw, got = err.code, err.read(), dict(err.headers)
    if got.get("Content-Type", "").startswith("application/json"):
        return status, json.loads(raw), got
    return status, raw.decode(), got


def query(server: D1ApiServer, db: str, sql: str, **extra: Any) -> tuple[int, Any]:
    status, payload, _ = call(
        server, "POST", f"/accounts/{ACCOUNT}/d1/database/{db}/query", {"sql": sql, **extra}
    )
    return status, payload


def tables(server: D1ApiServer, db: str) -> list[str]:
    rows = server.execute_local(
        db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"
    )
    return [str(r[0]) for r in rows]


def wait_until(predicate: Any, deadline: float = 3.0) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


# --------------------------------------------------------------------------- routing, auth


def test_base_url_and_sqlite_file(server: D1ApiServer, db_id: str) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/client/v4")
    assert server.sqlite_path(db_id).is_file()
    assert server.database_ids() == {"io-db": db_id}


def test_missing_token_is_401(server: D1ApiServer, db_id: str) -> None:
    status, payload, _ = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database", token=None)
    assert status == 401
    assert payload["success"] is False
    assert payload["errors"][0]["code"] == 10000


def test_wrong_token_is_403_and_token_never_logged(server: D1ApiServer, db_id: str) -> None:
    status, payload, _ = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database", token="nope")
    assert status == 403
    assert payload["errors"] == [{"code": 10000, "message": "Authentication error"}]
    query(server, db_id, "SELECT 1")
    assert TOKEN not in repr(server.requests)
    assert TOKEN not in repr(server)


def test_unknown_account_database_and_route(server: D1ApiServer, db_id: str) -> None:
    status, payload, _ = call(server, "GET", "/accounts/other/d1/database")
    assert status == 404
    assert payload["errors"][0]["code"] == 7403
    status, payload, _ = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database/no-such-id")
    assert status == 404
    assert payload["errors"][0]["code"] == 7404
    status, payload, _ = call(server, "GET", "/zones")
    assert status == 404
    assert payload["success"] is False


def test_list_get_and_create_databases(server: D1ApiServer, db_id: str) -> None:
    status, payload, _ = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database")
    assert status == 200
    assert [d["uuid"] for d in payload["result"]] == [db_id]
    assert payload["result_info"]["total_count"] == 1
    status, payload, _ = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database/{db_id}")
    assert status == 200
    assert payload["result"]["name"] == "io-db"
    assert payload["result"]["num_tables"] == 0
    status, payload, _ = call(server, "POST", f"/accounts/{ACCOUNT}/d1/database", {"name": "x"})
    assert status == 200
    assert server.database_ids()["x"] == payload["result"]["uuid"]


def test_get_database_by_name_as_wrangler_4_102_asks(server: D1ApiServer, db_id: str) -> None:
    path = f"/accounts/{ACCOUNT}/d1/database/io-db?fields=uuid,name"
    status, payload, _ = call(server, "GET", path)
    assert status == 200
    assert (payload["result"]["uuid"], payload["result"]["name"]) == (db_id, "io-db")
    status, payload, _ = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database/no-such-name")
    assert (status, payload["errors"][0]["code"]) == (404, 7404)
    # only the lookup itself takes a name; a query needs the uuid
    status, payload = query(server, "io-db", "SELECT 1")
    assert status == 404


# --------------------------------------------------------------------------- query


def test_several_statements_one_result_each(server: D1ApiServer, db_id: str) -> None:
    status, payload = query(
        server,
        db_id,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);\n"
        "INSERT INTO t (x) VALUES ('a;b'), ('c');  -- a comment; with a semicolon\n"
        "SELECT id, x FROM t ORDER BY id;",
    )
    assert status == 200
    assert payload["success"] is True
    assert payload["errors"] == []
    result = payload["result"]
    assert len(result) == 3
    assert all(entry["success"] for entry in result)
    assert result[1]["meta"]["changes"] == 2
    assert result[1]["meta"]["last_row_id"] == 2
    assert result[1]["meta"]["changed_db"] is True
    assert result[2]["meta"]["changed_db"] is False
    assert result[2]["results"] == [{"id": 1, "x": "a;b"}, {"id": 2, "x": "c"}]
    meta_keys = {"changes", "duration", "last_row_id", "rows_read", "rows_written"}
    assert meta_keys | {"changed_db", "size_after", "served_by"} <= set(result[0]["meta"])


def test_batch_is_atomic(server: D1ApiServer, db_id: str) -> None:
    status, payload = query(
        server, db_id, "CREATE TABLE a (id INTEGER); INSERT INTO nope VALUES (1);"
    )
    assert status == 400
    assert payload["success"] is False
    assert payload["errors"][0]["code"] == 7500
    assert payload["errors"][0]["message"] == "no such table: nope: SQLITE_ERROR"
    assert tables(server, db_id) == []


def test_constraint_failure_rolls_back_earlier_statements(server: D1ApiServer, db_id: str) -> None:
    query(server, db_id, "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)")
    status, payload = query(
        server, db_id, "INSERT INTO u (email) VALUES ('a'); INSERT INTO u (email) VALUES ('a');"
    )
    assert status == 400
    assert payload["errors"][0]["message"].endswith(": SQLITE_CONSTRAINT")
    assert server.execute_local(db_id, "SELECT count(*) FROM u") == [(0,)]


def test_foreign_keys_enforced_and_deferred_checked_at_commit(
    server: D1ApiServer, db_id: str
) -> None:
    query(
        server,
        db_id,
        "CREATE TABLE p (id INTEGER PRIMARY KEY);"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));",
    )
    status, payload = query(
        server, db_id, "PRAGMA foreign_keys = OFF; INSERT INTO c VALUES (1, 9);"
    )
    assert status == 400
    assert "FOREIGN KEY constraint failed" in payload["errors"][0]["message"]
    status, payload = query(
        server, db_id, "PRAGMA defer_foreign_keys = on; INSERT INTO c VALUES (1, 9);"
    )
    assert status == 400
    assert server.execute_local(db_id, "SELECT count(*) FROM c") == [(0,)]


def test_trigger_body_is_one_statement(server: D1ApiServer, db_id: str) -> None:
    sql = """
        CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER DEFAULT 0);
        CREATE TABLE log (msg TEXT);
        CREATE TRIGGER t_ins AFTER INSERT ON t
        BEGIN
            INSERT INTO log (msg) VALUES ('inserted; really');
            UPDATE t SET n = n + 1 WHERE id = NEW.id;
        END;
        INSERT INTO t (id) VALUES (1);
        SELECT msg FROM log;
    """
    status, payload = query(server, db_id, sql)
    assert status == 200, payload
    assert len(payload["result"]) == 5
    assert payload["result"][4]["results"] == [{"msg": "inserted; really"}]


def test_split_statements() -> None:
    sql = (
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 'a;b'; END;\n"
        "-- only a comment;\n"
        '/* block; comment */ SELECT "semi;colon" FROM t;;\n'
        "SELECT 2"
    )
    assert split_statements(sql) == [
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET x = 'a;b'; END;",
        '-- only a comment;\n/* block; comment */ SELECT "semi;colon" FROM t;',
        "SELECT 2",
    ]
    assert split_statements("  -- nothing\n ; ") == []


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN TRANSACTION",
        "BEGIN",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SAVEPOINT s1",
        "RELEASE s1",
    ],
)
def test_transaction_statements_rejected(server: D1ApiServer, db_id: str, sql: str) -> None:
    status, payload = query(server, db_id, f"CREATE TABLE x (a); {sql};")
    assert status == 400
    assert payload["errors"][0]["message"] == TRANSACTION_REFUSED
    assert tables(server, db_id) == []


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TEMP TABLE bak (a)",
        "CREATE TEMPORARY TABLE bak AS SELECT 1",
        "CREATE TABLE _cf_mine (a)",
        "CREATE TABLE ok (a); CREATE INDEX _CF_idx ON ok (a)",
        "PRAGMA journal_mode = delete",
        "ATTACH DATABASE 'x.db' AS x",
    ],
)
def test_not_authorized(server: D1ApiServer, db_id: str, sql: str) -> None:
    status, payload = query(server, db_id, sql)
    assert status == 400
    assert payload["errors"][0]["message"] == "not authorized: SQLITE_AUTH"
    assert tables(server, db_id) == []


def test_rules_and_changed_db_hold_for_statements_sent_again(
    server: D1ApiServer, db_id: str
) -> None:
    """The stand-in caches prepared statements, and its authorizer runs only when one is
    prepared: a text sent again, or one the stand-in ran itself, still meets D1's rules,
    and a write sent again still counts as a write."""
    server.execute_local(db_id, "CREATE TABLE t (a)")
    server.execute_local(db_id, "INSERT INTO t VALUES (0)")
    for _ in range(3):
        assert query(server, db_id, "COMMIT")[1]["errors"][0]["message"] == TRANSACTION_REFUSED
        assert query(server, db_id, "BEGIN IMMEDIATE")[0] == 400
        assert query(server, db_id, "PRAGMA synchronous = OFF")[0] == 400
        assert query(server, db_id, "INSERT INTO t VALUES (0)")[0] == 200
    versions = []
    for _ in range(3):
        status, payload = query(server, db_id, "INSERT INTO t VALUES (1); SELECT count(*) FROM t;")
        assert status == 200
        assert [r["meta"]["changed_db"] for r in payload["result"]] == [True, False]
        versions.append(server.version(db_id))
    assert versions[0] < versions[1] < versions[2]
    assert server.execute_local(db_id, "SELECT count(*) FROM t") == [(7,)]


def test_statement_over_100kb_rejected(server: D1ApiServer, db_id: str) -> None:
    big = "SELECT '" + "x" * 100_000 + "'"
    status, payload = query(server, db_id, big)
    assert status == 400
    assert payload["errors"][0]["message"] == "statement too long: SQLITE_TOOBIG"
    status, _ = query(server, db_id, "SELECT '" + "x" * 90_000 + "'")
    assert status == 200


def test_params_binding(server: D1ApiServer, db_id: str) -> None:
    query(server, db_id, "CREATE TABLE t (a INTEGER, b TEXT, c REAL, d BLOB)")
    status, payload = query(
        server, db_id, "INSERT INTO t VALUES (?, ?, ?, ?)", params=[1, "x'; DROP", 1.5, None]
    )
    assert status == 200, payload
    status, payload = query(server, db_id, "SELECT * FROM t WHERE b = ?1", params=["x'; DROP"])
    assert payload["result"][0]["results"] == [{"a": 1, "b": "x'; DROP", "c": 1.5, "d": None}]
    status, payload = query(server, db_id, "SELECT ?; SELECT ?;", params=[1])
    assert status == 400


def test_batch_body(server: D1ApiServer, db_id: str) -> None:
    body = {
        "batch": [
            {"sql": "CREATE TABLE t (a)"},
            {"sql": "INSERT INTO t VALUES (?)", "params": [7]},
            {"sql": "SELECT a FROM t"},
        ]
    }
    status, payload, _ = call(
        server, "POST", f"/accounts/{ACCOUNT}/d1/database/{db_id}/query", body
    )
    assert status == 200
    assert payload["result"][2]["results"] == [{"a": 7}]


def test_raw_shape(server: D1ApiServer, db_id: str) -> None:
    query(server, db_id, "CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 'x'), (2, X'0102');")
    status, payload, _ = call(
        server,
        "POST",
        f"/accounts/{ACCOUNT}/d1/database/{db_id}/raw",
        {"sql": "SELECT a, b FROM t ORDER BY a; SELECT 3 AS c"},
    )
    assert status == 200
    first, second = payload["result"]
    assert first["results"] == {"columns": ["a", "b"], "rows": [[1, "x"], [2, [1, 2]]]}
    assert second["results"] == {"columns": ["c"], "rows": [[3]]}
    assert first["success"] is True
    assert "meta" in first


def test_invalid_body(server: D1ApiServer, db_id: str) -> None:
    status, payload, _ = call(
        server, "POST", f"/accounts/{ACCOUNT}/d1/database/{db_id}/query", {"nosql": 1}
    )
    assert status == 400
    assert payload["success"] is False


# --------------------------------------------------------------------------- time travel


def bookmark(server: D1ApiServer, db: str, timestamp: str | None = None) -> str:
    suffix = f"?timestamp={timestamp}" if timestamp else ""
    status, payload, _ = call(
        server, "GET", f"/accounts/{ACCOUNT}/d1/database/{db}/time_travel/bookmark{suffix}"
    )
    assert status == 200, payload
    return str(payload["result"]["bookmark"])


def restore(server: D1ApiServer, db: str, target: str) -> tuple[int, Any]:
    status, payload, _ = call(
        server, "POST", f"/accounts/{ACCOUNT}/d1/database/{db}/time_travel/restore?{target}"
    )
    return status, payload


def test_bookmark_and_restore(server: D1ApiServer, db_id: str) -> None:
    query(server, db_id, "CREATE TABLE t (a); INSERT INTO t VALUES (1);")
    before = bookmark(server, db_id)
    assert len(before.split("-")) == 4
    assert bookmark(server, db_id) == before  # no write, same bookmark
    query(server, db_id, "INSERT INTO t VALUES (2); CREATE TABLE other (b);")
    after = bookmark(server, db_id)
    assert after > before  # lexicographically sortable, oldest first

    status, payload = restore(server, db_id, f"bookmark={before}")
    assert status == 200, payload
    assert payload["result"]["previous_bookmark"] == after
    assert payload["result"]["bookmark"] > after
    assert server.execute_local(db_id, "SELECT a FROM t") == [(1,)]
    assert tables(server, db_id) == ["t"]
    # The API sees the restored state too.
    _, payload = query(server, db_id, "SELECT count(*) AS n FROM t")
    assert payload["result"][0]["results"] == [{"n": 1}]

    # A restore can be undone with the previous bookmark.
    status, _ = restore(server, db_id, f"bookmark={after}")
    assert status == 200
    assert server.execute_local(db_id, "SELECT a FROM t ORDER BY a") == [(1,), (2,)]


def test_bookmark_by_timestamp(server: D1ApiServer, db_id: str) -> None:
    query(server, db_id, "CREATE TABLE t (a)")
    time.sleep(0.02)
    moment = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.02)
    query(server, db_id, "INSERT INTO t VALUES (1)")
    old = bookmark(server, db_id, moment)
    assert old < bookmark(server, db_id)
    status, _ = restore(server, db_id, f"timestamp={moment}")
    assert status == 200
    assert server.execute_local(db_id, "SELECT count(*) FROM t") == [(0,)]


def test_restart_on_same_directory_keeps_data(tmp_path: Path) -> None:
    uuid = "00000000-0000-0000-0000-000000000042"
    with D1ApiServer(tmp_path, token=TOKEN, account_id=ACCOUNT) as first:
        first.create_database("io-db", uuid)
        query(first, uuid, "CREATE TABLE t (a); INSERT INTO t VALUES (1);")
    with D1ApiServer(tmp_path, token=TOKEN, account_id=ACCOUNT) as second:
        second.create_database("io-db", uuid)
        assert second.execute_local(uuid, "SELECT a FROM t") == [(1,)]
        query(second, uuid, "INSERT INTO t VALUES (2)")
        fresh = bookmark(second, uuid)
        assert restore(second, uuid, f"bookmark={fresh}")[0] == 200
        assert second.execute_local(uuid, "SELECT count(*) FROM t") == [(2,)]


def test_bad_bookmark(server: D1ApiServer, db_id: str) -> None:
    other = server.create_database("other-db")
    status, payload = restore(server, db_id, f"bookmark={bookmark(server, other)}")
    assert status == 400
    status, payload = restore(server, db_id, "bookmark=garbage")
    assert status == 400
    assert payload["success"] is False


# --------------------------------------------------------------------------- faults


def test_fault_429_with_retry_after(server: D1ApiServer, db_id: str) -> None:
    server.faults.add(Fault.http_429(retry_after=3, path="/query"))
    status, payload, headers = call(
        server,
        "POST",
        f"/accounts/{ACCOUNT}/d1/database/{db_id}/query",
        {"sql": "CREATE TABLE t (a)"},
    )
    assert status == 429
    assert headers["Retry-After"] == "3"
    assert payload["success"] is False
    assert tables(server, db_id) == []
    status, _ = query(server, db_id, "CREATE TABLE t (a)")  # the queue is consumed
    assert status == 200
    assert [r.fault for r in server.requests] == ["http_429", None]


def test_fault_5xx(server: D1ApiServer, db_id: str) -> None:
    server.faults.http_5xx(status=503)
    server.faults.http_5xx(status=500)
    status, body, headers = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database")
    assert status == 503
    assert headers["Content-Type"].startswith("text/html")
    status, body, _ = call(server, "GET", f"/accounts/{ACCOUNT}/d1/database")
    assert status == 500
    assert body["success"] is False
    assert len(server.faults) == 0


def test_fault_http_error_refuses_without_executing(server: D1ApiServer, db_id: str) -> None:
    server.faults.http_error(403, path="/query")
    status, payload = query(server, db_id, "CREATE TABLE t (a)")
    assert status == 403
    assert payload["errors"] == [{"code": 10000, "message": "Authentication error"}]
    assert tables(server, db_id) == []
    with pytest.raises(ValueError):
        Fault.http_error(500)


def test_fault_matching_by_method_and_path(server: D1ApiServer, db_id: str) -> None:
    server.faults.add(Fault.http_5xx(502, method="POST", path="/raw"))
    status, _ = query(server, db_id, "SELECT 1")  # /query, not /raw: untouched
    assert status == 200
    assert len(server.faults.pending) == 1
    status, _, _ = call(
        server, "POST", f"/accounts/{ACCOUNT}/d1/database/{db_id}/raw", {"sql": "SELECT 1"}
    )
    assert status == 502
    assert server.faults.fired[0][0].kind == "http_5xx"


def test_fault_timeout_still_commits(server: D1ApiServer, db_id: str) -> None:
    server.faults.timeout(seconds=0.3, path="/query")
    path = f"/accounts/{ACCOUNT}/d1/database/{db_id}/query"
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        call(server, "POST", path, {"sql": "CREATE TABLE late (a)"}, timeout=0.1)
    # The client gave up, but the server still runs and commits the batch.
    wait_until(lambda: server.requests[-1].status is not None)
    assert tables(server, db_id) == ["late"]


def test_fault_drop_after_commit(server: D1ApiServer, db_id: str) -> None:
    server.faults.drop_after_commit(path="/query")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        query(server, db_id, "CREATE TABLE t (a)")
    assert tables(server, db_id) == ["t"]
    record = server.requests[-1]
    assert record.status is None
    assert record.fault == "drop_after_commit"
    assert record.sql == "CREATE TABLE t (a)"


def test_fault_drop_before_commit(server: D1ApiServer, db_id: str) -> None:
    server.faults.add(Fault.drop_before_commit(path="/query"))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        query(server, db_id, "CREATE TABLE t (a)")
    assert tables(server, db_id) == []
    status, _ = query(server, db_id, "CREATE TABLE t (a)")
    assert status == 200
    assert server.request_count == 2


def test_latency_applied(server: D1ApiServer, db_id: str) -> None:
    server.latency = 0.15
    started = time.perf_counter()
    query(server, db_id, "SELECT 1")
    assert time.perf_counter() - started >= 0.15
    server.latency = 0
    started = time.perf_counter()
    query(server, db_id, "SELECT 1")
    assert time.perf_counter() - started < 0.15


def test_requests_to_different_databases_run_in_parallel(server: D1ApiServer) -> None:
    ids = [server.create_database(f"db-{i}") for i in range(4)]
    server.latency = 0.2
    errors: list[BaseException] = []

    def work(db: str) -> None:
        try:
            assert query(server, db, "CREATE TABLE t (a)")[0] == 200
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(db,)) for db in ids]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert time.perf_counter() - started < 0.6  # not 4 x 0.2 s
    assert all(tables(server, db) == ["t"] for db in ids)


def test_keep_alive_connection(server: D1ApiServer, db_id: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(2):
            body = json.dumps({"sql": "SELECT 1 AS one"})
            conn.request(
                "POST",
                f"/client/v4/accounts/{ACCOUNT}/d1/database/{db_id}/query",
                body=body,
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            assert json.loads(response.read())["result"][0]["results"] == [{"one": 1}]
    finally:
        conn.close()


def test_stop_is_clean_with_open_connection(tmp_path: Path) -> None:
    srv = D1ApiServer(tmp_path, token=TOKEN, account_id=ACCOUNT).start()
    sock = socket.create_connection(("127.0.0.1", srv.port))
    started = time.perf_counter()
    srv.stop()
    sock.close()
    assert time.perf_counter() - started < 2


def test_command_line(tmp_path: Path) -> None:
    uuid = "00000000-0000-0000-0000-00000000abcd"
    script = Path(__file__).resolve().parent / "d1_api_server.py"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            "--dir",
            str(tmp_path),
            "--token",
            TOKEN,
            "--account",
            ACCOUNT,
            "--db",
            f"io-db={uuid}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip(), proc.stdout.readline().strip()]
        assert lines[0] == f"database io-db {uuid}"
        base_url = lines[1]
        assert base_url.endswith("/client/v4")
        request = urllib.request.Request(
            f"{base_url}/accounts/{ACCOUNT}/d1/database/{uuid}/query",
            data=json.dumps({"sql": "SELECT 42 AS x"}).encode(),
            headers={"Authorization": f"Bearer {TOKEN}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["result"][0]["results"] == [{"x": 42}]
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    assert (tmp_path / f"{uuid}.sqlite").is_file()


def test_command_line_workers_share_the_port_files_and_log(tmp_path: Path) -> None:
    """``--workers 2``: two processes serve the same databases (a write through one is
    read through the other), and the request log on exit holds every request once."""
    script = Path(__file__).resolve().parent / "d1_api_server.py"
    (tmp_path / "dbs").write_text("io-db\nother-db=00000000-0000-0000-0000-00000000beef\n")
    log = tmp_path / "requests.log"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--dir", str(tmp_path / "d1"), "--token", TOKEN,
         "--account", ACCOUNT, "--no-snapshots", "--workers", "2",
         "--db-file", str(tmp_path / "dbs"), "--log", str(log)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert lines[1] == "database other-db 00000000-0000-0000-0000-00000000beef"
        uuid, base_url = lines[0].split()[2], lines[2]

        def post(sql: str) -> Any:
            request = urllib.request.Request(
                f"{base_url}/accounts/{ACCOUNT}/d1/database/{uuid}/query",
                data=json.dumps({"sql": sql}).encode(),
                headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())["result"][0]["results"]

        post("CREATE TABLE t (n INTEGER)")
        for n in range(10):  # new connections: the kernel hands them to either worker
            post(f"INSERT INTO t VALUES ({n})")
        assert post("SELECT count(*) AS c FROM t") == [{"c": 10}]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 12 and {r["database_id"] for r in records} == {uuid}
    assert not list(tmp_path.glob("requests.log.*"))
