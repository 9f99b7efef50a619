"""Lifecycle commands with --remote, against the D1 API stand-in (tests/d1_api_server.py,
not Cloudflare). Skipped until the remote engines are part of the build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.sqltext import split_statements
from tests.apply.helpers import cli, cli_json
from tests.d1_api_server import D1ApiServer
from tests.lifecycle.helpers import migration_files

pytest.importorskip("orchestrator.engines.api", reason="remote engines not in this build yet")

TOKEN = "tok-lifecycle-0f3a"
ACCOUNT = "acc-lifecycle"
IO = "5795e779-22cb-461b-9a76-4b28f7e2bc1c"
AGENCY = "632b6dc1-793e-4eca-a76e-945c14dd6383"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[D1ApiServer]:
    with D1ApiServer(tmp_path / "d1-api", token=TOKEN, account_id=ACCOUNT) as api:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", api.base_url)
        api.create_database("io-db", IO)
        api.create_database("agency-db", AGENCY)
        yield api


def by_hand(server: D1ApiServer, database_id: str, files: list[Path]) -> None:
    """As `wrangler d1 execute --remote --file` would: the SQL, no ledger."""
    for file in files:
        for statement in split_statements(file.read_text()):
            server.execute_local(database_id, statement.text)


def test_adopt_baseline_repair_and_sync_reach_the_remote_database(
    monorepo: Path, server: D1ApiServer
) -> None:
    root = str(monorepo)
    by_hand(server, IO, migration_files(monorepo, "io-db")[:5])
    by_hand(server, AGENCY, migration_files(monorepo, "agency-db")[:3])
    code, out, _ = cli("adopt", "--db", "io-db", "--remote", "--root", root)
    assert code == 0 and "io-db (remote): matches the schema after 0005_workflows" in out
    assert cli("adopt", "--db", "io-db", "--remote", "--root", root, "--yes")[0] == 0
    code, out, _ = cli("baseline", "--db", "agency-db", "--to", "3", "--remote", "--root", root)
    assert code == 0 and "would record 3 as applied" in out
    assert (
        cli("baseline", "--db", "agency-db", "--to", "3", "--remote", "--root", root, "--yes")[0]
        == 0
    )
    _, plan = cli_json("plan", "--remote", "--root", root)
    pending = {d["name"]: d["pending"] for d in plan["databases"]}
    assert (pending["io-db"], pending["agency-db"]) == (7, 3)
    assert (
        cli_json("apply", "--db", "io-db", "--db", "agency-db", "--remote", "--root", root)[0] == 0
    )

    edited = monorepo / "packages/io/migrations/009_user_plugins.sql"
    edited.write_text(edited.read_text() + "\n-- reviewed\n")
    code, out, _ = cli("repair", "--db", "io-db", "--remote", "--root", root, "--yes")
    assert code == 0 and "accepted packages/io/migrations/009_user_plugins.sql" in out
    assert len(server.execute_local(IO, "SELECT * FROM _migrations_history")) == 1

    code, out, _ = cli("normalize", "--yes", "--sync-ledgers", "--remote", "--root", root)
    assert "io-db (remote): 12 wrangler ledger rows added" in out
    assert code == 1 and "create-something-db: not synced" in out  # not created on the server
    names = {r[0] for r in server.execute_local(IO, "SELECT name FROM d1_migrations")}
    assert {"009_user_plugins.sql", "0009_user_plugins.sql"} <= names
