"""Bindings without a ``database_id`` remotely: looked up by name through the D1 API, as
wrangler >= 4.102 does (``GET …/d1/database/{name}?fields=uuid,name``). The server is
tests/d1_api_server.py, a local stand-in for Cloudflare's D1 API (not Cloudflare)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.discovery import discover_workspace
from orchestrator.engines.remote import lookup_name
from orchestrator.errors import TargetError
from orchestrator.settings import Settings
from tests.apply.helpers import cli, cli_json
from tests.conftest import needs_wrangler, run_wrangler, write_tree
from tests.d1_api_server import D1ApiServer
from tests.remote.conftest import ACCOUNT

SHAPES = Path(__file__).parent.parent / "shapes"
LOOKUP = f"/client/v4/accounts/{ACCOUNT}/d1/database/site-db?fields=uuid%2Cname"


def _bindonly(tmp_path: Path) -> Path:
    """tests/shapes/bindonly: Worker "site", ``{"binding": "DB"}`` and one migration."""
    return Path(shutil.copytree(SHAPES / "bindonly", tmp_path / "bindonly"))


def _queries(server: D1ApiServer) -> list[str]:
    return [r.path for r in server.requests if r.method == "POST"]


def test_plan_and_apply_remote_resolve_the_auto_provisioned_name_and_print_the_id(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    uuid = remote_env.create_database("site-db")  # what `wrangler deploy` provisions for DB
    root = _bindonly(tmp_path)
    code, plan = cli_json("plan", "--remote", "--root", str(root))
    assert code == 0, plan
    [db] = plan["databases"]
    assert (db["id"], db["resolved_by_name"], db["pending"]) == (uuid, "site-db", 1)
    code, out, _ = cli("plan", "--remote", "--root", str(root))
    assert f"{uuid} (resolved by name 'site-db')" in out
    code, run = cli_json("apply", "--all", "--remote", "--root", str(root))
    assert code == 0, run
    [result] = run["databases"]
    assert (result["id"], result["resolved_by_name"], result["status"]) == (uuid, "site-db", "ok")
    rows = remote_env.execute_local(uuid, "SELECT name FROM d1_migrations")
    assert [r[0] for r in rows] == ["0001_pages.sql"]
    code, out, _ = cli("apply", "--all", "--remote", "--root", str(root))
    assert code == 0 and f"DB: {uuid} (resolved by name 'site-db')" in out, out
    lookups = [r.path for r in remote_env.requests if r.method == "GET" and "?" in r.path]
    assert lookups and set(lookups) == {LOOKUP}


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_name_the_api_does_not_know_is_one_line_and_nothing_is_applied(
    tmp_path: Path, remote_env: D1ApiServer, command: str
) -> None:
    root = _bindonly(tmp_path)
    args = [command, "--remote", "--root", str(root)] + (["--all"] if command == "apply" else [])
    code, out, err = cli(*args)
    assert code == 1, out + err
    text = " ".join((out + err).split())  # rich wraps long lines on narrow terminals
    where = "apps/site/wrangler.jsonc:6: " + ("" if command == "plan" else "plan has errors: ")
    line = (
        f"{where}no auto-provisioned D1 database named 'site-db' for binding 'DB' in the API; "
        "run `wrangler deploy` to provision it"
    )
    assert line in text, text
    assert "Traceback" not in text
    assert _queries(remote_env) == []  # nothing sent but the lookup
    assert [r.path for r in remote_env.requests] == [LOOKUP]


def test_a_database_name_without_id_is_looked_up_by_that_name(
    tmp_path: Path, remote_env: D1ApiServer
) -> None:
    uuid = remote_env.create_database("named-db")
    root = write_tree(
        tmp_path / "named",
        {
            "apps/a/wrangler.toml": 'name = "a"\n\n[[d1_databases]]\nbinding = "DB"\n'
            'database_name = "named-db"\n',
            "apps/a/migrations/0001_a.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        },
    )
    code, run = cli_json("apply", "--all", "--remote", "--root", str(root))
    assert code == 0, run
    assert (run["databases"][0]["id"], run["databases"][0]["resolved_by_name"]) == (
        uuid,
        "named-db",
    )
    assert "/d1/database/named-db?fields=uuid%2Cname" in remote_env.requests[0].path


def _binding(files: dict[str, str | bytes], tmp_path: Path, env: str | None = None) -> str:
    root = write_tree(tmp_path / "w", files)
    workspace = discover_workspace(Settings(root=root), env)
    return lookup_name(workspace.databases[0].bindings[0])


def test_the_auto_provisioned_name_follows_wranglers_worker_name_per_env(tmp_path: Path) -> None:
    config = (
        'name = "my-app"\n\n[env.staging]\n[[env.staging.d1_databases]]\nbinding = "AUTH_DB"\n\n'
        '[env.named]\nname = "other"\n[[env.named.d1_databases]]\nbinding = "DB"\n'
    )
    files: dict[str, str | bytes] = {"wrangler.toml": config, "migrations/0001_a.sql": "SELECT 1;"}
    assert _binding(files, tmp_path / "a", "staging") == "my-app-staging-auth-db"
    assert _binding(files, tmp_path / "b", "named") == "other-db"


def test_no_worker_name_and_no_database_name_is_wranglers_error(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "wrangler.toml": '[[d1_databases]]\nbinding = "DB"\n',
        "migrations/0001_a.sql": "SELECT 1;",
    }
    with pytest.raises(TargetError, match="the Worker has no name"):
        _binding(files, tmp_path)


@pytest.mark.parametrize("first", ["orchestrate", "wrangler"])
@needs_wrangler[0]
@needs_wrangler[1]
def test_wrangler_and_orchestrate_ask_the_same_and_never_apply_twice(
    tmp_path: Path, remote_env: D1ApiServer, first: str
) -> None:
    """Real wrangler 4.164 against the stand-in: the same lookup request, the same ledger."""
    uuid = remote_env.create_database("site-db")
    root = _bindonly(tmp_path)
    package = root / "apps" / "site"

    def by_wrangler() -> str:
        done = run_wrangler(package, "d1", "migrations", "apply", "DB", "--remote")
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def by_us() -> dict[str, object]:
        code, run = cli_json("apply", "--all", "--remote", "--root", str(root))
        assert code == 0, run
        return run["databases"][0]  # type: ignore[no-any-return]

    if first == "wrangler":
        by_wrangler()
        assert by_us()["status"] == "up-to-date"
    else:
        assert by_us()["status"] == "ok"
        assert "No migrations to apply" in by_wrangler()
    rows = remote_env.execute_local(uuid, "SELECT name FROM d1_migrations")
    assert [r[0] for r in rows] == ["0001_pages.sql"]
    lookups = {r.path for r in remote_env.requests if r.method == "GET" and "site-db" in r.path}
    assert lookups == {LOOKUP}  # wrangler's request and ours are the same
