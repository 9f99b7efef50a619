"""`verify --remote` reads the target through the D1 API engine, against the local
D1 API stand-in (tests/d1_api_server.py; Cloudflare cannot be reached from here)."""

from __future__ import annotations

from pathlib import Path

from tests.apply.helpers import cli, cli_json
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import api_server, remote_env  # noqa: F401  (fixtures)

TEMPLATES_ID = "56aafbc4-e31f-4e0b-acb5-dc6bf0887018"


def test_verify_remote_no_drift_then_drift(
    monorepo: Path,
    remote_env: D1ApiServer,  # noqa: F811
) -> None:
    remote_env.create_database("templates-platform-db", TEMPLATES_ID)
    args = ("--remote", "--db", "templates-platform-db", "--root", str(monorepo))
    assert cli("apply", *args)[0] == 0
    code, doc = cli_json("verify", *args)
    assert code == 0 and doc["target"] == "remote"
    assert doc["databases"][0]["targets"][0]["applied"] == 12
    remote_env.execute_local(TEMPLATES_ID, "CREATE INDEX idx_sneaky ON customers(name)")
    remote_env.execute_local(TEMPLATES_ID, "DROP INDEX idx_templates_tier")
    code, doc = cli_json("verify", *args)
    found = doc["databases"][0]["targets"][0]["differences"]
    assert code == 1
    assert sorted((d["change"], d["name"]) for d in found) == [
        ("extra", "idx_sneaky"),
        ("missing", "idx_templates_tier"),
    ]
    _, board = cli_json("status", *args)
    assert board["databases"][0]["drift"] == 2


def test_a_database_remote_engines_cannot_reach_is_reported_not_crashed(
    monorepo: Path,
    remote_env: D1ApiServer,  # noqa: F811
) -> None:
    code, out, _ = cli("verify", "--remote", "--db", "dashboard-db", "--root", str(monorepo))
    assert code == 1
    # no database_id: looked up by name as wrangler >= 4.102 does; the stand-in has none
    text = " ".join(out.split())
    assert "✗ dashboard-db (-):" in out and "no D1 database named 'dashboard-db'" in text
