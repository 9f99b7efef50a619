"""The wrangler engine end to end against real wrangler 4.86: local state
(`--engine wrangler --local`, the same code path as remote), and remote against
the D1 API stand-in (tests/d1_api_server.py, not Cloudflare) through
CLOUDFLARE_API_BASE_URL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.apply.helpers import cli, cli_json, state_path
from tests.conftest import toml_binding, wrangler_path, write_tree
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import db_id

WRANGLER = wrangler_path()
pytestmark = [
    pytest.mark.wrangler,
    pytest.mark.skipif(WRANGLER is None, reason="wrangler not installed (make setup)"),
]

MIGRATIONS = {
    "0001_notes.sql": """
        -- quotes and semicolons inside strings must survive
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
        INSERT INTO notes (body) VALUES ('it''s; fine -- really');
    """,
    "0002_notes_fts.sql": """
        CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');
        CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN
          INSERT INTO notes_fts(rowid, body) VALUES (new.id, new.body);
        END;
    """,
    "003_more.sql": "INSERT INTO notes (body) VALUES ('second');\n",
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORCHESTRATE_WRANGLER", str(WRANGLER))
    monkeypatch.setenv("WRANGLER_SEND_METRICS", "false")
    files: dict[str, str | bytes] = {
        "packages/notes/wrangler.toml": toml_binding("notes-db", db_id(0))
    }
    files |= {f"packages/notes/migrations/{k}": v for k, v in MIGRATIONS.items()}
    return write_tree(tmp_path / "mono", files)


def wrangler(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert WRANGLER is not None
    return subprocess.run(
        [WRANGLER, *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_local_through_the_wrangler_engine(root: Path) -> None:
    code, summary = cli_json(
        "apply", "--all", "--engine", "wrangler", "--local", "--root", str(root)
    )
    assert code == 0, summary
    [result] = summary["databases"]
    assert (result["status"], len(result["applied"]), result["bookmark"]) == ("ok", 3, None)
    package = root / "packages/notes"
    listed = wrangler(package, "d1", "migrations", "list", "notes-db", "--local")
    assert "No migrations to apply" in listed.stdout, listed.stdout + listed.stderr
    with sqlite3.connect(state_path(root, "notes-db")) as connection:
        ledger = connection.execute(
            "SELECT filename, checksum, execution_time_ms FROM _migrations ORDER BY id"
        ).fetchall()
        found = connection.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'second'")
        assert found.fetchall() == [(2,)]  # the trigger body arrived whole
        assert connection.execute("SELECT body FROM notes WHERE id = 1").fetchall() == [
            ("it's; fine -- really",)
        ]
    assert [r[0] for r in ledger] == ["0001_notes.sql", "0002_notes_fts.sql", "0003_more.sql"]
    assert all(r[1].startswith("sha256:") and r[2] is not None for r in ledger)
    code, plan = cli_json("plan", "--engine", "wrangler", "--local", "--root", str(root))
    assert code == 0 and plan["databases"][0]["pending"] == 0


def test_local_failure_names_file_and_line_and_keeps_nothing(root: Path) -> None:
    bad = root / "packages/notes/migrations/0004_bad.sql"
    bad.write_text("CREATE TABLE v (a);\nINSERT INTO nope VALUES (1);\n")
    code, out, _ = cli("apply", "--all", "--engine", "wrangler", "--local", "--root", str(root))
    assert code == 1
    assert "packages/notes/migrations/0004_bad.sql:2: no such table: nope: SQLITE_ERROR" in out
    with sqlite3.connect(state_path(root, "notes-db")) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        ledger = connection.execute("SELECT COUNT(*) FROM _migrations").fetchone()
    assert "v" not in tables and ledger == (3,)


def test_remote_through_wrangler_against_the_stand_in(root: Path, remote_env: D1ApiServer) -> None:
    remote_env.create_database("notes-db", db_id(0))
    code, summary = cli_json(
        "apply", "--all", "--engine", "wrangler", "--remote", "--root", str(root)
    )
    assert code == 0, summary
    [result] = summary["databases"]
    assert result["status"] == "ok" and len(result["applied"]) == 3
    # One guarded write through `wrangler d1 execute --remote`; undo by its start time.
    assert result["restore_command"].endswith(f"--timestamp={result['bookmark']}")
    ledger = remote_env.execute_local(db_id(0), "SELECT filename, bookmark FROM _migrations")
    assert {r[1] for r in ledger} == {result["bookmark"]} and len(ledger) == 3
    code, plan = cli_json("plan", "--remote", "--root", str(root))  # the api engine reads it
    assert code == 0 and plan["databases"][0]["pending"] == 0


NEWEST_JS = (
    Path(__file__).resolve().parents[2]
    / ".tools/wrangler-4.164.0/node_modules/wrangler/bin/wrangler.js"
)


@pytest.mark.skipif(not NEWEST_JS.is_file(), reason="wrangler 4.164.0 not installed (make setup)")
def test_a_users_new_wrangler_on_node_20_is_one_clear_line(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The monorepo's own node_modules/.bin/wrangler (4.164) run by the machine's Node 20."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    if not node.stdout.startswith("v20."):
        pytest.skip("needs Node 20 as the machine's node")
    monkeypatch.delenv("ORCHESTRATE_WRANGLER")
    bin_dir = root / "node_modules/.bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "wrangler").symlink_to(NEWEST_JS)  # as npm links it: `#!/usr/bin/env node`
    code, out, err = cli("apply", "--all", "--engine", "wrangler", "--local", "--root", str(root))
    assert code != 0
    text = out + err
    assert "needs Node.js v22.12.0 or newer, but it ran on v20." in text, text
    assert "Traceback" not in text and "volta.sh" not in text


def test_wrangler_itself_applies_and_lists_remote_by_name(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    """No ``database_id``: wrangler (>= 4.102) asks the stand-in for the database by name."""
    uuid = remote_env.create_database("named-db")
    package = write_tree(
        tmp_path / "named",
        {
            "wrangler.toml": 'name = "named"\n\n[[d1_databases]]\nbinding = "DB"\n'
            'database_name = "named-db"\n',
            "migrations/0001_a.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        },
    )
    listed = wrangler(package, "d1", "migrations", "list", "DB", "--remote")
    assert listed.returncode == 0 and "0001_a.sql" in listed.stdout, listed.stdout + listed.stderr
    applied = wrangler(package, "d1", "migrations", "apply", "DB", "--remote")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    rows = remote_env.execute_local(uuid, "SELECT name FROM d1_migrations")
    assert [r[0] for r in rows] == ["0001_a.sql"]
    listed = wrangler(package, "d1", "migrations", "list", "DB", "--remote")
    assert "No migrations to apply" in listed.stdout, listed.stdout + listed.stderr
    assert any("/d1/database/named-db?" in r.path for r in remote_env.requests)
