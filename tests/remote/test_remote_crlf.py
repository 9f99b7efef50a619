"""Remote CRLF: both remote engines send statements with CRLF outside string literals
as LF, as wrangler >= 4.124 does (real D1 fails on CRLF inside trigger bodies). The
server is tests/d1_api_server.py, a local stand-in for Cloudflare's D1 API, which
records every SQL text it received."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apply.helpers import cli_json
from tests.conftest import toml_binding, write_tree
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import db_id

TRIGGER = (
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\r\n"
    "CREATE TABLE log (note TEXT);\r\n"
    "-- a comment line\r\n"
    "CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN\r\n"
    "  INSERT INTO log (note) VALUES ('line one\r\nline two'); -- kept\r\n"
    "END;\r\n"
    "INSERT INTO notes (body) VALUES ('x');\r\n"
)


def _tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "mono",
        {
            "p/wrangler.toml": toml_binding("crlf-db", db_id(7)),
            "p/migrations/0001_trigger.sql": TRIGGER.encode(),
        },
    )


def _assert_sent_as_lf(server: D1ApiServer) -> None:
    sent = [r.sql for r in server.requests if r.sql and "notes_ai" in r.sql]
    assert sent, [r.path for r in server.requests]
    for sql in sent:
        assert "BEGIN\n  INSERT" in sql and "-- kept\nEND" in sql, sql
        assert sql.count("\r\n") == 1 and "'line one\r\nline two'" in sql, sql
    [(stored,)] = server.execute_local(
        db_id(7), "SELECT sql FROM sqlite_master WHERE name = 'notes_ai'"
    )
    assert "\r\n" not in stored.replace("'line one\r\nline two'", "")
    # the literal inside the trigger body arrives whole, CRLF and all
    assert server.execute_local(db_id(7), "SELECT note FROM log") == [("line one\r\nline two",)]


def test_api_engine_sends_lf_outside_literals(tmp_path: Path, remote_env: D1ApiServer) -> None:
    root = _tree(tmp_path)
    remote_env.create_database("crlf-db", db_id(7))
    code, summary = cli_json("apply", "--all", "--remote", "--root", str(root))
    assert code == 0, summary
    _assert_sent_as_lf(remote_env)
    code, plan = cli_json("plan", "--remote", "--root", str(root))
    assert code == 0 and plan["databases"][0]["pending"] == 0  # checksum of the file as it is


@pytest.mark.wrangler
def test_wrangler_engine_sends_lf_outside_literals(
    tmp_path: Path, remote_env: D1ApiServer, monkeypatch: pytest.MonkeyPatch, interop_wrangler: str
) -> None:
    """4.164 turns CRLF into LF itself; 4.86 does not, so orchestrate does it first."""
    monkeypatch.setenv("ORCHESTRATE_WRANGLER", interop_wrangler)
    root = _tree(tmp_path)
    remote_env.create_database("crlf-db", db_id(7))
    code, summary = cli_json(
        "apply", "--all", "--engine", "wrangler", "--remote", "--root", str(root)
    )
    assert code == 0, summary
    _assert_sent_as_lf(remote_env)
